package nhnemu

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig for the resolution field
	_ "image/png"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

// Success answers in the seed's shapes, values from emulator.Derive.
// Values the seed marks "암호화 O" are encrypted with the request's key.

type box struct {
	X1 int `json:"x1"`
	Y1 int `json:"y1"`
	X2 int `json:"x2"`
	Y2 int `json:"y2"`
	X3 int `json:"x3"`
	Y3 int `json:"y3"`
	X4 int `json:"x4"`
	Y4 int `json:"y4"`
}

func rect(x, y, w, h int) box { return box{x, y, x + w, y, x + w, y + h, x, y + h} }

type confValue struct {
	Value string  `json:"value"`
	Conf  float64 `json:"conf"`
}

type creditCardResult struct {
	FileType     string      `json:"fileType"`
	Resolution   string      `json:"resolution"`
	CardNums     []confValue `json:"cardNums"`
	TotalCardNum string      `json:"totalCardNum"`
	CardNumBoxes []box       `json:"cardNumBoxes"`
	ValidThru    confValue   `json:"validThru"`
	ValidThruBox box         `json:"validThruBox"`
}

type keyValue struct {
	Key   string  `json:"key"`
	Value string  `json:"value"`
	Conf  float64 `json:"conf"`
	BBox  box     `json:"bbox"`
}

type idCardResult struct {
	FileType   string     `json:"fileType"`
	Resolution string     `json:"resolution"`
	IDType     string     `json:"idType"`
	KeyValues  []keyValue `json:"keyValues"`
	Boxes      []box      `json:"boxes"`
}

// conf is a stable confidence in 0.70..0.99 for the i-th value of a doc.
func conf(d emulator.Doc, i int) float64 {
	c := d.SHA256[(2*i)%len(d.SHA256)]
	return float64(70+int(c)%30) / 100 // one division: 0.79, not 0.7899999999999999
}

// resolution is the seed's "normal" at or above 760x480, else "low".
func resolution(img []byte) string {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(img))
	if err == nil && cfg.Width >= 760 && cfg.Height >= 480 {
		return "normal"
	}
	return "low"
}

func renderCreditCard(d emulator.Doc, img, key []byte) *creditCardResult {
	r := &creditCardResult{FileType: fileType(img), Resolution: resolution(img)}
	for i := 0; i < 4; i++ {
		r.CardNums = append(r.CardNums, confValue{Value: encryptValue(key, d.CardNumber[4*i:4*i+4]), Conf: conf(d, i)})
		r.CardNumBoxes = append(r.CardNumBoxes, rect(62+140*i, 256, 130, 45))
	}
	r.TotalCardNum = encryptValue(key, d.CardNumber)
	r.ValidThru = confValue{Value: encryptValue(key, d.ValidThru), Conf: conf(d, 4)}
	r.ValidThruBox = rect(316, 315, 110, 32)
	return r
}

// dotDate renders a date as Korean ID cards print it: "2019.01.01".
func dotDate(t emulator.Date) string {
	return fmt.Sprintf("%04d.%02d.%02d", t.Year, t.Month, t.Day)
}

func ymd(t emulator.Date) string { return fmt.Sprintf("%04d%02d%02d", t.Year, t.Month, t.Day) }

var months = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

// passportDate renders a date as Korean passports print it: "09 JUN 2014".
func passportDate(t emulator.Date) string {
	return fmt.Sprintf("%02d %s %04d", t.Day, months[t.Month-1], t.Year)
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// idValues lists the keyValues of each idType in the seed's order.
func idValues(d emulator.Doc, idType string) [][2]string {
	switch idType {
	case "driver":
		return [][2]string{
			{"driverLicenseNumber", d.LicenseNumber},
			{"licenseType", d.LicenseType},
			{"name", d.Name},
			{"residentNumber", d.PersonalNumber},
			{"condition", "none"},
			{"serialNum", d.SerialNumber},
			{"issueDate", dotDate(d.IssueDate)},
			{"issuer", d.Issuer},
		}
	case "passport":
		l1, l2 := mrz(d)
		return [][2]string{
			{"passportType", "PM"},
			{"countryCode", "KOR"},
			{"passportNo", d.PassportNumber},
			{"surName", d.Surname},
			{"givenName", d.GivenName},
			{"nationality", "REPUBLIC OF KOREA"},
			{"dateOfBirth", passportDate(d.BirthDate)},
			{"dateOfBirthYMD", ymd(d.BirthDate)},
			{"sex", d.Sex},
			{"dateOfIssue", passportDate(d.IssueDate)},
			{"dateOfIssueYMD", ymd(d.IssueDate)},
			{"dateOfExpiry", passportDate(d.ExpiryDate)},
			{"dateOfExpiryYMD", ymd(d.ExpiryDate)},
			{"koreanName", d.Name},
			{"personalNo", digits(d.PersonalNumber)[6:]},
			{"MRZ1", l1},
			{"MRZ2", l2},
		}
	}
	return [][2]string{
		{"name", d.Name},
		{"residentNumber", d.PersonalNumber},
		{"issueDate", dotDate(d.IssueDate)},
		{"issuer", d.Issuer},
	}
}

func renderIDCard(d emulator.Doc, idType string, img, key []byte) *idCardResult {
	r := &idCardResult{FileType: fileType(img), Resolution: resolution(img), IDType: idType}
	for i, kv := range idValues(d, idType) {
		r.KeyValues = append(r.KeyValues, keyValue{
			Key: kv[0], Value: encryptValue(key, kv[1]), Conf: conf(d, i), BBox: rect(190, 43+32*i, 192, 21),
		})
	}
	r.Boxes = []box{rect(280, 271, 74, 34)}
	return r
}

// mrz builds a valid TD3 machine-readable zone (ICAO 9303 check digits).
func mrz(d emulator.Doc) (string, string) {
	pad := func(s string, n int) string { return (s + strings.Repeat("<", n))[:n] }
	yymmdd := func(t emulator.Date) string { return fmt.Sprintf("%02d%02d%02d", t.Year%100, t.Month, t.Day) }
	l1 := pad("P<KOR"+d.Surname+"<<"+d.GivenName, 44)
	num := pad(d.PassportNumber, 9)
	birth, expiry := yymmdd(d.BirthDate), yymmdd(d.ExpiryDate)
	personal := pad(digits(d.PersonalNumber)[6:], 14)
	l2 := num + checkDigit(num) + "KOR" + birth + checkDigit(birth) + d.Sex + expiry + checkDigit(expiry) + personal + checkDigit(personal)
	composite := num + checkDigit(num) + birth + checkDigit(birth) + expiry + checkDigit(expiry) + personal + checkDigit(personal)
	return l1, l2 + checkDigit(composite)
}

func checkDigit(s string) string {
	weights := []int{7, 3, 1}
	sum := 0
	for i, r := range s {
		v := 0
		switch {
		case r >= '0' && r <= '9':
			v = int(r - '0')
		case r >= 'A' && r <= 'Z':
			v = int(r-'A') + 10
		}
		sum += v * weights[i%3]
	}
	return fmt.Sprint(sum % 10)
}

// Authenticity request fields (seed: 신분증 진위 확인 API [필드]).
type fieldRule struct {
	name      string
	encrypted bool
	required  bool
}

var authFields = map[string][]fieldRule{
	"resident": {{"name", true, true}, {"residentNumber", true, true}, {"issueDate", true, true}},
	"driver":   {{"name", true, true}, {"residentNumber", true, true}, {"driverLicenseNumber", true, true}, {"serialNum", true, false}},
	"passport": {{"name", true, true}, {"passportNumber", true, true}, {"issueDate", true, true}, {"birthDate", true, true}, {"expirationDate", false, true}},
}

// sentFields are an authenticity request's fields, decrypted.
type sentFields map[string]string

// checkFields validates and decrypts an authenticity request body.
func checkFields(body map[string]string, key []byte) (sentFields, int) {
	rules, ok := authFields[body["idType"]]
	if !ok {
		return nil, codeInvalidParameter
	}
	for _, f := range rules { // every required field present, before any decryption
		if f.required && body[f.name] == "" {
			return nil, codeInvalidParameter
		}
	}
	out := sentFields{"idType": body["idType"]}
	for _, f := range rules {
		v, present := body[f.name]
		if !present || v == "" {
			continue
		}
		if f.encrypted {
			plain, err := decryptValue(key, v)
			if err != nil {
				return nil, codeInvalidEncrypted
			}
			v = plain
		}
		out[f.name] = v
	}
	return out, codeOK
}

// expectedFields are the values a genuine document's check must carry, per
// the seed's formats (13 digits; driver: 6+1 digits; dates YYYYMMDD). A
// passport's name may be the Korean or the romanized one.
func expectedFields(d emulator.Doc, idType string) map[string][]string {
	pn := digits(d.PersonalNumber)
	switch idType {
	case "driver":
		return map[string][]string{"idType": {idType}, "name": {d.Name}, "residentNumber": {pn[:7]},
			"driverLicenseNumber": {digits(d.LicenseNumber)}, "serialNum": {d.SerialNumber}}
	case "passport":
		return map[string][]string{"idType": {idType}, "name": {d.Name, d.NameEnglish}, "passportNumber": {d.PassportNumber},
			"issueDate": {ymd(d.IssueDate)}, "birthDate": {ymd(d.BirthDate)}, "expirationDate": {ymd(d.ExpiryDate)}}
	}
	return map[string][]string{"idType": {idType}, "name": {d.Name}, "residentNumber": {pn}, "issueDate": {ymd(d.IssueDate)}}
}

// matches reports whether every sent field is one the document shows, and
// every required one was sent (optional ones only checked when sent).
func (s sentFields) matches(want map[string][]string) bool {
	for field, ok := range want {
		got, sent := s[field]
		if !sent {
			if field == "serialNum" {
				continue
			}
			return false
		}
		found := false
		for _, v := range ok {
			found = found || v == got
		}
		if !found {
			return false
		}
	}
	return true
}
