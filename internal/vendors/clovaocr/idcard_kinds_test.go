package clovaocr

import (
	"fmt"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// idAnswer wraps one id-card result object in the Document API envelope.
func idAnswer(idType, card, body string) []byte {
	return []byte(fmt.Sprintf(`{"version":"V2","requestId":"r","timestamp":1,"images":[{"uid":"u","name":"image",
"inferResult":"SUCCESS","message":"SUCCESS","idCard":{"meta":{"estimatedLanguage":"ko"},
"result":{"isConfident":true,"idtype":%q,%q:%s}}}]}`, idType, card, body))
}

func v(text string) string { return fmt.Sprintf(`[{"text":%q,"formatted":{"value":%q}}]`, text, text) }

func date(text, y, m, d string) string {
	return fmt.Sprintf(`[{"text":%q,"formatted":{"year":%q,"month":%q,"day":%q}}]`, text, y, m, d)
}

// The seed pages show only the resident card (ic); the field tables also
// define the driver's license (dl), passport (pp) and alien card (ac).
func TestIDCardKindsFromTheFieldTables(t *testing.T) {
	for _, tc := range []struct {
		name, idType, card, body string
		want                     func(c *result.IDCard) error
	}{
		{"driver", "Driver's License", "dl", `{"type":` + v("1종보통") + `,"num":` + v("11-17-174133-01") +
			`,"name":` + v("홍길동") + `,"personalNum":` + v("800101-1234567") +
			`,"renewStartDate":` + date("2027.01.01", "2027", "01", "01") + `,"renewEndDate":` + date("2027.12.31", "2027", "12", "31") +
			`,"code":` + v("7L3S4Z") + `,"issueDate":` + date("2017.05.02", "2017", "05", "02") + `}`,
			func(c *result.IDCard) error {
				switch {
				case c.IDType != result.IDDriver:
					return fmt.Errorf("idType %q", c.IDType)
				case c.LicenseNumber == nil || c.LicenseNumber.Value != "11-17-******-01" || c.LicenseNumber.Text != "11-17-******-01":
					return fmt.Errorf("license number %+v not masked", c.LicenseNumber)
				case c.PersonalNumber == nil || c.PersonalNumber.Value != "800101-1******":
					return fmt.Errorf("personal number %+v", c.PersonalNumber)
				case c.RenewEnd == nil || c.RenewEnd.Value != "2027-12-31" || c.IssueDate.Value != "2017-05-02":
					return fmt.Errorf("dates %+v %+v", c.RenewEnd, c.IssueDate)
				case c.LicenseType.Value != "1종보통" || c.SerialNumber.Value != "7L3S4Z":
					return fmt.Errorf("type %+v serial %+v", c.LicenseType, c.SerialNumber)
				}
				return nil
			}},
		{"passport", "Passport", "pp", `{"num":` + v("M12345678") + `,"surName":` + v("HONG") + `,"givenName":` + v("GILDONG") +
			`,"birthDate":` + date("01 JAN 1980", "1980", "01", "01") + `,"expireDate":` + date("02 MAR 2030", "2030", "03", "02") +
			`,"sex":` + v("M") + `,"nationality":` + v("REPUBLIC OF KOREA") + `,"fullNameKor":` + v("홍길동") +
			`,"personalNum":` + v("1234567") + `}`,
			func(c *result.IDCard) error {
				switch {
				case c.IDType != result.IDPassport:
					return fmt.Errorf("idType %q", c.IDType)
				case c.PassportNumber == nil || c.PassportNumber.Value == "M12345678":
					return fmt.Errorf("passport number %+v not masked", c.PassportNumber)
				case c.PersonalNumber == nil || c.PersonalNumber.Value != "*******" || c.PersonalNumber.Text != "*******":
					return fmt.Errorf("passport personal number %+v not masked whole", c.PersonalNumber)
				case c.BirthDate.Value != "1980-01-01" || c.ExpiryDate.Value != "2030-03-02":
					return fmt.Errorf("dates %+v %+v", c.BirthDate, c.ExpiryDate)
				case c.Surname.Value != "HONG" || c.KoreanName.Value != "홍길동" || c.Sex.Value != "M":
					return fmt.Errorf("names %+v %+v sex %+v", c.Surname, c.KoreanName, c.Sex)
				}
				return nil
			}},
		{"alien", "Alien Registration Card", "ac", `{"alienRegNum":` + v("900101-5123456") + `,"name":` + v("JOHN SMITH") +
			`,"nationality":` + v("USA") + `,"visaType":` + v("E-7") + `,"issueDate":` + date("2020.02.03", "2020", "02", "03") + `}`,
			func(c *result.IDCard) error {
				switch {
				case c.IDType != result.IDAlien:
					return fmt.Errorf("idType %q", c.IDType)
				case c.AlienNumber == nil || c.AlienNumber.Value != "900101-5******":
					return fmt.Errorf("alien number %+v", c.AlienNumber)
				case c.VisaType.Value != "E-7" || c.IssueDate.Value != "2020-02-03":
					return fmt.Errorf("visa %+v issue %+v", c.VisaType, c.IssueDate)
				}
				return nil
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields, _, err := Parse(result.TypeIDCard, idAnswer(tc.idType, tc.card, tc.body), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.want(fields.(*result.IDCard)); err != nil {
				t.Error(err)
			}
		})
	}
}
