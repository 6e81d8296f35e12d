package clovaemu

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

// The document types, by the path segment after /document/.
const (
	typeReceipt        = "receipt"
	typeCreditCard     = "credit-card"
	typeNameCard       = "name-card"
	typeBizLicense     = "biz-license"
	typeIDCard         = "id-card"
	typeMedicalReceipt = "medical-receipt"
	typePassport       = "passport"
)

var documentTypes = map[string]bool{
	typeReceipt: true, typeCreditCard: true, typeNameCard: true, typeBizLicense: true,
	typeIDCard: true, typeMedicalReceipt: true, typePassport: true,
}

// page lays values out top to bottom on a page of w x h pixels, so every
// value has a plausible box inside the image.
type page struct {
	w, h float64
	sum  string // the image's sha256, for confidences
}

// box is the i-th line's box, starting at column x (0..1 of the width) and
// spanning width wf (0..1 of the width).
func (p page) box(line int, x, wf float64) boundingPoly {
	lineH := p.h / 24
	top := math.Round(p.h*0.06 + float64(line%20)*lineH)
	left := math.Round(p.w * x)
	right := math.Round(p.w * math.Min(x+wf, 0.97))
	bottom := math.Round(top + lineH*0.7)
	return boundingPoly{Vertices: []vertex{{left, top}, {right, top}, {right, bottom}, {left, bottom}}}
}

func (p page) boxes(line int, x, wf float64) []boundingPoly {
	return []boundingPoly{p.box(line, x, wf)}
}

// confidence is a stable 0.85..0.9999 score for one field of this image.
func (p page) confidence(fieldName string) float64 {
	s := sha256.Sum256([]byte(p.sum + "/" + fieldName))
	v := binary.BigEndian.Uint32(s[:4]) % 1500
	return float64(8500+v) / 10000
}

func (p page) str(line int, text, value string) stringObject {
	return stringObject{Text: text, Formatted: &valueFormatted{Value: value}, BoundingPolys: p.boxes(line, 0.1, 0.5)}
}

// plain is a StringObject the way the name-card example shows it: no formatted.
func (p page) plain(line int, text string) stringObject {
	return stringObject{Text: text, BoundingPolys: p.boxes(line, 0.1, 0.5)}
}

func (p page) base(line int, text string) baseObject {
	return baseObject{Text: text, BoundingPolys: p.boxes(line, 0.3, 0.5)}
}

func dateFmt(d emulator.Date) dateFormatted {
	return dateFormatted{Year: fmt.Sprintf("%04d", d.Year), Month: fmt.Sprintf("%02d", d.Month), Day: fmt.Sprintf("%02d", d.Day)}
}

// koreanDate renders a date the way the biz-license example prints it.
func koreanDate(d emulator.Date) string {
	return fmt.Sprintf("%04d 년 %02d 월 %02d 일", d.Year, d.Month, d.Day)
}

// commas renders 12000 as "12,000".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// areaTel renders "02-1234-5678" as receipts print it: "(02)1234-5678".
func areaTel(t string) string {
	if i := strings.IndexByte(t, '-'); i > 0 {
		return "(" + t[:i] + ")" + t[i+1:]
	}
	return t
}

// render fills the type's object of a successful answer.
func render(img *imageResponse, docType string, d emulator.Doc, p page, now time.Time) {
	switch docType {
	case typeReceipt:
		img.Receipt = renderReceipt(d, p)
	case typeCreditCard:
		img.CreditCard = renderCreditCard(d, p)
	case typeNameCard:
		img.NameCard = renderNameCard(d, p)
	case typeBizLicense:
		img.BizLicense = renderBizLicense(d, p)
	case typeIDCard:
		img.IDCard = renderIDCard(d, p)
	case typeMedicalReceipt:
		img.MedicalReceipt = renderMedicalReceipt(d, p)
	case typePassport:
		img.Passport = renderPassport(d, now)
	}
}

func renderReceipt(d emulator.Doc, p page) *receipt {
	// CompanyName is "<store> <N>호점": the receipt prints the branch apart.
	name, sub, _ := strings.Cut(d.CompanyName, " ")
	hh, mm, ss := d.ReceiptTime[0:2], d.ReceiptTime[3:5], d.ReceiptTime[6:8]
	// Receipts print only the card number's ends, as the seed's "4221**8666".
	card := d.CardNumber[:4] + "**" + d.CardNumber[len(d.CardNumber)-4:]
	r := &receipt{Meta: meta{EstimatedLanguage: "ko"}}
	r.Result.StoreInfo = storeInfo{
		Name:      p.str(0, name, name),
		SubName:   p.str(1, sub, sub),
		BizNum:    p.str(2, d.BizNumber, d.BizNumber),
		Addresses: []stringObject{p.str(3, d.Address, d.Address)},
		Tel:       []stringObject{p.str(4, areaTel(d.StoreTel), digits(d.StoreTel))},
	}
	r.Result.PaymentInfo = paymentInfo{
		Date: dateObject{Text: d.ReceiptDate.ISO(), Formatted: dateFmt(d.ReceiptDate), BoundingPolys: p.boxes(5, 0.1, 0.3)},
		Time: timeObject{Text: d.ReceiptTime, Formatted: timeFormatted{Hour: hh, Minute: mm, Second: ss}, BoundingPolys: p.boxes(5, 0.45, 0.2)},
		CardInfo: cardInfo{
			Company: p.str(6+len(d.Items), d.CardCompany, d.CardCompany),
			Number:  p.str(7+len(d.Items), card, card),
		},
		ConfirmNum: p.base(8+len(d.Items), d.ConfirmNumber),
	}
	items := make([]receiptItem, 0, len(d.Items))
	for i, it := range d.Items {
		line := 6 + i
		items = append(items, receiptItem{
			Name:  stringObject{Text: it.Name, Formatted: &valueFormatted{Value: it.Name}, BoundingPolys: p.boxes(line, 0.05, 0.4)},
			Count: stringObject{Text: strconv.FormatInt(it.Count, 10), Formatted: &valueFormatted{Value: strconv.FormatInt(it.Count, 10)}, BoundingPolys: p.boxes(line, 0.65, 0.05)},
			PriceInfo: priceInfo{
				Price:     stringObject{Text: commas(it.Price), Formatted: &valueFormatted{Value: strconv.FormatInt(it.Price, 10)}, BoundingPolys: p.boxes(line, 0.8, 0.15)},
				UnitPrice: stringObject{Text: commas(it.UnitPrice), Formatted: &valueFormatted{Value: strconv.FormatInt(it.UnitPrice, 10)}, BoundingPolys: p.boxes(line, 0.5, 0.12)},
			},
		})
	}
	r.Result.SubResults = []subResult{{Items: items}}
	total := strconv.FormatInt(d.TotalPrice, 10)
	r.Result.TotalPrice = totalPrice{Price: stringObject{Text: commas(d.TotalPrice) + "원", Formatted: &valueFormatted{Value: total}, BoundingPolys: p.boxes(9+len(d.Items), 0.75, 0.2)}}
	return r
}

func renderCreditCard(d emulator.Doc, p page) *creditCard {
	// The number's box has one sub-box per printed group of four digits.
	subs := make([]boundingPoly, 4)
	for i := range subs {
		subs[i] = p.box(10, 0.1+0.2*float64(i), 0.17)
	}
	return &creditCard{
		Meta: meta{EstimatedLanguage: "en"},
		Result: creditCardResult{
			Number:    field{Text: d.CardNumber, Confidence: p.confidence("number"), BoundingPoly: p.box(10, 0.1, 0.8), SubBoundingPolys: subs},
			ValidThru: field{Text: d.ValidThru, Confidence: p.confidence("validThru"), BoundingPoly: p.box(12, 0.4, 0.15), SubBoundingPolys: []boundingPoly{}},
			Name:      field{Text: d.NameEnglish, Confidence: p.confidence("name"), BoundingPoly: p.box(14, 0.1, 0.4), SubBoundingPolys: []boundingPoly{}},
		},
	}
}

func renderNameCard(d emulator.Doc, p page) *nameCard {
	none := []stringObject{}
	return &nameCard{
		Meta: meta{EstimatedLanguage: "ko"},
		Result: nameCardResult{
			Name:         []stringObject{p.plain(2, d.Name)},
			NameFurigana: none,
			Company:      []stringObject{p.plain(0, d.Company)},
			Department:   none,
			Address:      []stringObject{p.plain(8, d.Address)},
			Position:     []stringObject{p.plain(3, d.Position)},
			Mobile:       []stringObject{p.str(5, d.Mobile, digits(d.Mobile))},
			Tel:          []stringObject{p.str(6, d.StoreTel, digits(d.StoreTel))},
			Fax:          none,
			Email:        []stringObject{p.plain(7, d.Email)},
			Homepage:     none,
		},
	}
}

func renderBizLicense(d emulator.Doc, p page) *bizLicense {
	none := []baseObject{}
	one := func(line int, text string) []baseObject { return []baseObject{p.base(line, text)} }
	return &bizLicense{
		Meta: meta{EstimatedLanguage: "ko"},
		Result: bizLicenseResult{
			DocumentType:    []stringObject{p.str(0, "사업자등록증", "사업자등록증")},
			TaxType:         one(1, d.TaxType),
			RegisterNumber:  one(2, d.BizNumber),
			CompanyName:     one(3, d.CompanyName),
			RepName:         one(4, d.Name),
			Birth:           one(5, koreanDate(d.BirthDate)),
			OpenDate:        one(6, koreanDate(d.OpenDate)),
			BisAddress:      one(7, d.Address),
			BisType:         one(8, d.BusinessType),
			BisItem:         one(8, d.BusinessItem),
			IssuanceDate:    one(12, koreanDate(d.IssueDate)),
			BisArea:         none,
			CoRepName:       none,
			CorpName:        none,
			CorpRegisterNum: none,
			CoRepSocialNum:  none,
			HeadAddress:     none,
			IssuanceReason:  none,
			SocialNumber:    none,
		},
	}
}

func renderIDCard(d emulator.Doc, p page) *idCard {
	value := func(line int, text string, x, wf float64, formatted any, masked bool) []idValue {
		v := idValue{
			Text: text, Formatted: formatted, KeyText: "",
			ConfidenceScore: p.confidence(fmt.Sprint("id", line)),
			BoundingPolys:   p.boxes(line, x, wf), MaskingPolys: []boundingPoly{},
		}
		if masked {
			v.MaskingPolys = p.boxes(line, x+wf/2, wf/2)
		}
		return []idValue{v}
	}
	// The 2026 page's example redacts every value for publication (name
	// "홍**", address "서울특별시 ***", number "800***-234****"); the API
	// answers what it read and marks the region to mask in maskingPolys, as
	// the eKYC page shows with its full "111111-2222222" plus maskingText.
	// So the emulator answers the whole number; masking is the client's job.
	pn := d.PersonalNumber
	issue := fmt.Sprintf("%04d.%02d.%02d", d.IssueDate.Year, d.IssueDate.Month, d.IssueDate.Day)
	return &idCard{
		Meta: meta{EstimatedLanguage: "ko"},
		Result: idCardResult{
			IsConfident: true,
			IC: &idCardIC{
				Name:        value(2, d.Name, 0.1, 0.4, valueFormatted{Value: d.Name}, false),
				PersonalNum: value(4, pn, 0.1, 0.4, valueFormatted{Value: pn}, true),
				Address:     value(6, d.Address, 0.07, 0.6, valueFormatted{Value: d.Address}, false),
				IssueDate:   value(14, issue, 0.35, 0.2, dateFmt(d.IssueDate), false),
				Authority:   value(16, d.Issuer, 0.2, 0.45, valueFormatted{Value: d.Issuer}, false),
			},
			ROIs:   []boundingPoly{{Vertices: []vertex{{3, 4}, {p.w - 3, 0}, {p.w - 3, p.h - 3}, {2, p.h - 2}}}},
			IDType: "ID Card",
		},
	}
}

// medicalCategories are the row keys of a Korean medical bill.
var medicalCategories = []string{"진찰료", "입원료", "투약및조제료", "주사료", "검사료", "처치및수술료"}

// renderMedicalReceipt turns the derived receipt items into the patient's
// share per category (one value cell each) and a total cell, with the
// checksums CLOVA computes over them.
func renderMedicalReceipt(d emulator.Doc, p page) *medicalReceipt {
	cell := func(id, line int, rowKey, value string) medicalCell {
		conf := p.confidence(fmt.Sprint("cell", id))
		return medicalCell{
			ID: id, KeyTexts: rowKey + "|급여|본인부담금", ValueText: value, Confidence: conf,
			KeyCells: []keyCell{
				{BoundingPoly: p.box(line, 0.05, 0.2), Depth: 1, Formatted: rowKey, Group: "row", Value: rowKey},
				{BoundingPoly: p.box(1, 0.3, 0.4), Depth: 1, Formatted: "급여", Group: "column", Value: "급여"},
				{BoundingPoly: p.box(2, 0.3, 0.2), Depth: 2, Formatted: "본인부담금", Group: "column", Value: "본인부담금"},
			},
			ValueCell: valueCell{BoundingPoly: p.box(line, 0.3, 0.2), Confidence: conf, Value: value},
		}
	}
	mr := &medicalReceipt{Checksum: map[string]checksum{}}
	var ids []int
	for i, it := range d.Items {
		id := 10 * (i + 1)
		ids = append(ids, id)
		mr.Result = append(mr.Result, cell(id, 3+i, medicalCategories[i%len(medicalCategories)], strconv.FormatInt(it.Price, 10)))
	}
	totalID := 10 * (len(d.Items) + 1)
	mr.Result = append(mr.Result, cell(totalID, 3+len(d.Items), "합계", strconv.FormatInt(d.TotalPrice, 10)))
	if d.Note != "" {
		mr.Result = append(mr.Result, cell(totalID+1, 4+len(d.Items), "비고", d.Note))
	}
	total := float64(d.TotalPrice)
	found := checksum{Found: true, FoundValueIDs: ids, FoundValueSum: total, FoundTotalIDs: []int{totalID}, FoundTotalSum: total, Difference: 0}
	notFound := checksum{FoundValueIDs: []int{}, FoundTotalIDs: []int{}}
	for _, k := range []string{"sumPaidByInsurer", "sumPaidByPatientFull", "sumTreatmentCost", "sumTreatmentCostEtc", "totalAmount"} {
		mr.Checksum[k] = notFound
	}
	mr.Checksum["sumPaidByPatient"] = found
	mr.Checksum["totalPaid"] = checksum{Found: true, FoundValueIDs: []int{}, FoundTotalIDs: []int{totalID}, FoundTotalSum: total, Difference: total}
	return mr
}

func yymmdd(d emulator.Date) string { return fmt.Sprintf("%02d%02d%02d", d.Year%100, d.Month, d.Day) }

func slashDate(d emulator.Date) string { return fmt.Sprintf("%04d/%02d/%02d", d.Year, d.Month, d.Day) }

func ageOn(birth emulator.Date, now time.Time) int {
	age := now.Year() - birth.Year
	if int(now.Month()) < birth.Month || (int(now.Month()) == birth.Month && now.Day() < birth.Day) {
		age--
	}
	return age
}

// passportPersonalNumber is the optional 14-character personal number of the
// MRZ. Korean passports no longer carry the resident number there, so it is
// an opaque value derived from the image, never Doc.PersonalNumber.
func passportPersonalNumber(d emulator.Doc) string {
	s := sha256.Sum256([]byte("mrz-personal/" + d.SHA256))
	return fmt.Sprintf("V%013d", binary.BigEndian.Uint64(s[:8])%1e13)
}

func renderPassport(d emulator.Doc, now time.Time) *passport {
	m := td3{
		DocumentCode: "PM", IssuingState: "KOR", Surname: d.Surname, GivenNames: d.GivenName,
		DocumentNumber: d.PassportNumber, Nationality: "KOR", BirthDate: yymmdd(d.BirthDate),
		Sex: d.Sex, ExpiryDate: yymmdd(d.ExpiryDate), PersonalNumber: passportPersonalNumber(d),
	}
	l1, l2 := m.Lines()
	s := func(raw, refined string) mrzString {
		return mrzString{RawText: raw, RefinedText: refined, Postprocessed: []int{}}
	}
	same := func(v string) mrzString { return s(v, v) }
	gender := map[string]string{"M": "Male", "F": "Female"}[d.Sex]
	expiry := time.Date(d.ExpiryDate.Year, time.Month(d.ExpiryDate.Month), d.ExpiryDate.Day, 23, 59, 59, 0, time.UTC)
	lines := l1 + "\n" + l2
	return &passport{PassportResult: passportResult{
		DocumentClassCode: mrzString{RawText: l1[:2], RefinedText: "Passport", Postprocessed: []int{1}},
		IssuingStateCode:  s("KOR", "Korea (the Republic of)"),
		// The seed's example puts the MRZ's primary identifier (the surname,
		// "HONG") in firstName and the given names in lastName1.
		FirstName:                   same(d.Surname),
		LastName1:                   same(d.GivenName),
		LastName2:                   same("-"),
		DocumentNumber:              same(l2[0:9]),
		CheckDigitForDocumentNumber: same(l2[9:10]),
		Nationality:                 s(l2[10:13], "Korea (the Republic of)"),
		DateOfBirth:                 s(l2[13:19], slashDate(d.BirthDate)),
		Age:                         mrzInt{RawText: "", RefinedText: ageOn(d.BirthDate, now), Postprocessed: []int{}},
		CheckDigitForDateOfBirth:    same(l2[19:20]),
		Gender:                      s(l2[20:21], gender),
		DateOfExpiry:                s(l2[21:27], slashDate(d.ExpiryDate)),
		CheckDigitForDateOfExpiry:   same(l2[27:28]),
		PersonalNumber:              same(l2[28:42]),
		CheckDigitForPersonalNumber: same(l2[42:43]),
		FinalCheckDigit:             same(l2[43:44]),
		MRZType:                     s("", "ID-3"),
		MRZLines:                    mrzString{RawText: lines, RefinedText: lines, Postprocessed: []int{1}},
		IsExpired:                   mrzBool{RawText: "", RefinedText: now.After(expiry), Postprocessed: []int{}},
	}}
}
