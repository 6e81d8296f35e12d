package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Doc is the content the emulator "reads" from an image. Every value is
// derived from the SHA-256 of the image bytes, so a test can compute what a
// result must say for a given image, and every vendor emulator reads the same
// image the same way (which is what the cross-vendor parity tests rely on).
//
// Values are given in their plain form; each vendor emulator renders them in
// its own wire format (dates as "2014 년 06 월 09 일", money as "1,234원", ...).
type Doc struct {
	SHA256 string // hex

	// person (id-card, face-compare, biz-license representative)
	Name           string // Korean name, e.g. "김민준"
	NameEnglish    string // e.g. "KIM MINJUN"
	Surname        string // e.g. "KIM"
	GivenName      string // e.g. "MINJUN"
	BirthDate      Date
	Sex            string // "M" or "F"
	PersonalNumber string // whole resident number "YYMMDD-NNNNNNN" (masked by vendors that mask)
	Address        string
	IssueDate      Date
	Issuer         string // e.g. "서울특별시 종로구청장"

	// driver's license
	LicenseNumber string // "11-17-174133-01"
	LicenseType   string // "1종보통"
	SerialNumber  string // "7L3S4Z"
	RenewStart    Date
	RenewEnd      Date

	// passport
	PassportNumber string // "M12345678"
	ExpiryDate     Date

	// credit card
	CardNumber string // 16 digits, "5307123456789012"
	ValidThru  string // "MM/YY"

	// business license / receipt store
	CompanyName  string
	BizNumber    string // "NNN-NN-NNNNN"
	OpenDate     Date
	BusinessType string
	BusinessItem string
	// Corporate: the license is a corporation's (eKYC BL_CORP), else a sole
	// proprietor's; TaxType is the 과세 유형 it shows. Every emulator reads
	// them from here, so vendors agree on the same image.
	Corporate     bool
	TaxType       string
	StoreTel      string // "02-1234-5678"
	ReceiptDate   Date
	ReceiptTime   string // "HH:MM:SS"
	Items         []Item
	TotalPrice    int64 // sum of Items' Price
	ConfirmNumber string
	CardCompany   string

	// name card
	Company  string
	Position string
	Mobile   string // "010-1234-5678"
	Email    string

	// Note is the text of the image's MarkerNote ("" without one): printed
	// after the address and the first item's name, and as a medical bill's
	// "비고" (remarks) cell.
	Note string

	// face compare
	Similarity float64 // 0..1
	FaceCount  int     // faces found on the image
}

// Date is a calendar date.
type Date struct{ Year, Month, Day int }

// ISO is YYYY-MM-DD.
func (d Date) ISO() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Item is one receipt line.
type Item struct {
	Name      string
	Count     int64
	UnitPrice int64
	Price     int64
}

var (
	surnamesKo  = []string{"김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"}
	surnamesEn  = []string{"KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "CHO", "YOON", "JANG", "LIM"}
	givenKo     = []string{"민준", "서연", "도윤", "지우", "하준", "서윤", "시우", "하은", "주원", "지민"}
	givenEn     = []string{"MINJUN", "SEOYEON", "DOYUN", "JIWOO", "HAJUN", "SEOYUN", "SIWOO", "HAEUN", "JUWON", "JIMIN"}
	districts   = []string{"종로구", "중구", "용산구", "성동구", "마포구", "강남구", "송파구", "서초구"}
	companies   = []string{"네이버", "하늘상사", "바다유통", "한빛소프트", "푸른식품", "새벽물산"}
	items       = []string{"아메리카노", "카페라떼", "크로와상", "샌드위치", "녹차", "머핀", "생수", "쿠키"}
	cardCos     = []string{"신한카드", "국민카드", "삼성카드", "현대카드", "롯데카드"}
	bizTypes    = []string{"도매 및 소매업", "서비스업", "제조업", "정보통신업"}
	bizItems    = []string{"전자상거래", "소프트웨어 개발", "식료품", "커피전문점"}
	positions   = []string{"대리", "과장", "차장", "부장", "팀장"}
	licenseKind = []string{"1종보통", "2종보통", "1종대형"}
)

// Derive computes the document an image shows. An image carrying
// MarkerNote shows the note's text in its free text as well.
func Derive(image []byte) Doc {
	sum := sha256.Sum256(image)
	d := DeriveSum(sum)
	if note := Note(image); note != "" {
		d.Note = note
		d.Address += " " + note
		d.Items[0].Name += " " + note
	}
	return d
}

// MarkerNote followed by text and ';' (at most 64 bytes of UTF-8) makes the
// document print that text after its address and its first item's name:
// free text, as a real document may carry anything there ("EMULATOR:NOTE=주민
// 800101-1234567;"). Tests use it to see what masked mode does with
// personal numbers in free text.
var MarkerNote = []byte("EMULATOR:NOTE=")

// Note is the text of an image's MarkerNote, or "".
func Note(image []byte) string {
	i := bytes.Index(image, MarkerNote)
	if i < 0 {
		return ""
	}
	rest := image[i+len(MarkerNote):]
	end := bytes.IndexByte(rest, ';')
	if end < 0 || end > 64 || !utf8.Valid(rest[:end]) {
		return ""
	}
	return string(rest[:end])
}

// DeriveSum is Derive from the image's SHA-256.
func DeriveSum(sum [32]byte) Doc {
	r := &reader{b: sum[:]}
	d := Doc{SHA256: fmt.Sprintf("%x", sum)}
	s := r.n(len(surnamesKo))
	g := r.n(len(givenKo))
	d.Name = surnamesKo[s] + givenKo[g]
	d.Surname, d.GivenName = surnamesEn[s], givenEn[g]
	d.NameEnglish = d.Surname + " " + d.GivenName
	d.BirthDate = Date{1960 + r.n(40), 1 + r.n(12), 1 + r.n(28)}
	if r.n(2) == 0 {
		d.Sex = "M"
	} else {
		d.Sex = "F"
	}
	gender := 1
	if d.Sex == "F" {
		gender = 2
	}
	d.PersonalNumber = fmt.Sprintf("%02d%02d%02d-%d%06d", d.BirthDate.Year%100, d.BirthDate.Month, d.BirthDate.Day, gender, r.n(1000000))
	dist := districts[r.n(len(districts))]
	d.Address = fmt.Sprintf("서울특별시 %s 세종대로 %d", dist, 1+r.n(300))
	d.IssueDate = Date{2010 + r.n(15), 1 + r.n(12), 1 + r.n(28)}
	d.Issuer = "서울특별시 " + dist + "청장"

	d.LicenseNumber = fmt.Sprintf("%02d-%02d-%06d-%02d", 11+r.n(18), 10+r.n(15), r.n(1000000), r.n(100))
	d.LicenseType = licenseKind[r.n(len(licenseKind))]
	d.SerialNumber = fmt.Sprintf("%c%d%c%d%c%c", 'A'+r.n(26), r.n(10), 'A'+r.n(26), r.n(10), 'A'+r.n(26), 'A'+r.n(26))
	d.RenewStart = Date{2027 + r.n(8), 1 + r.n(12), 1 + r.n(28)}
	d.RenewEnd = Date{d.RenewStart.Year, 12, 31}

	d.PassportNumber = fmt.Sprintf("M%08d", r.n(100000000))
	d.ExpiryDate = Date{2027 + r.n(10), 1 + r.n(12), 1 + r.n(28)}

	d.CardNumber = fmt.Sprintf("5307%012d", r.n(1000000)*1000000+r.n(1000000))
	d.ValidThru = fmt.Sprintf("%02d/%02d", 1+r.n(12), 27+r.n(8))

	d.CompanyName = companies[r.n(len(companies))] + fmt.Sprintf(" %d호점", 1+r.n(99))
	d.BizNumber = fmt.Sprintf("%03d-%02d-%05d", 100+r.n(900), 10+r.n(90), r.n(100000))
	d.OpenDate = Date{2000 + r.n(25), 1 + r.n(12), 1 + r.n(28)}
	d.BusinessType = bizTypes[r.n(len(bizTypes))]
	d.BusinessItem = bizItems[r.n(len(bizItems))]
	d.StoreTel = fmt.Sprintf("02-%04d-%04d", 1000+r.n(9000), r.n(10000))
	d.ReceiptDate = Date{2024 + r.n(3), 1 + r.n(12), 1 + r.n(28)}
	d.ReceiptTime = fmt.Sprintf("%02d:%02d:%02d", r.n(24), r.n(60), r.n(60))
	n := 1 + r.n(4)
	for i := 0; i < n; i++ {
		it := Item{Name: items[r.n(len(items))], Count: int64(1 + r.n(3)), UnitPrice: int64(1000 + 100*r.n(90))}
		it.Price = it.Count * it.UnitPrice
		d.Items = append(d.Items, it)
		d.TotalPrice += it.Price
	}
	d.ConfirmNumber = fmt.Sprintf("%08d", r.n(100000000))
	d.CardCompany = cardCos[r.n(len(cardCos))]

	d.Company = d.CompanyName
	d.Position = positions[r.n(len(positions))]
	d.Mobile = fmt.Sprintf("010-%04d-%04d", 1000+r.n(9000), r.n(10000))
	d.Email = fmt.Sprintf("%s.%s@example.co.kr", lower(d.GivenName), lower(d.Surname))

	d.Similarity = float64(r.n(10001)) / 10000
	d.FaceCount = 1

	// A draw of its own (label-hashed), so adding it moved no other value.
	k := sha256.Sum256([]byte("bl-kind" + d.SHA256))
	d.Corporate = binary.BigEndian.Uint32(k[:4])%2 == 0
	d.TaxType = "일반과세자"
	if d.Corporate {
		d.TaxType = "법인사업자"
	}
	return d
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// reader draws small numbers from a hash, re-hashing when it runs dry.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) n(max int) int {
	if r.pos+4 > len(r.b) {
		s := sha256.Sum256(r.b)
		r.b, r.pos = s[:], 0
	}
	v := binary.BigEndian.Uint32(r.b[r.pos:])
	r.pos += 4
	return int(v % uint32(max))
}
