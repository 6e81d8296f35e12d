package nhn

import (
	"encoding/json"
	"strings"
	"testing"
)

// keyValues keys are matched case-folded in the raw copy, and a passport's
// personal number is masked whole (as CLOVA does), in the result and raw.
func TestIDCardRawMasksEveryKeySpellingAndPassportPersonalNo(t *testing.T) {
	a := &idCardAnswer{IDType: "passport", KeyValues: []keyValue{
		{Key: "PassportNo", Value: "M12345678"}, {Key: "personalNo", Value: "1234567"},
		{Key: "PERSONALNO", Value: "7654321"}, {Key: "ResidentNumber", Value: "8001011234567"},
		{Key: "DriverLicenseNumber", Value: "11-17-174133-01"},
		{Key: "mrz1", Value: "PMKORKIM<<MINJUN<<<<<<<<<<<<<<<<<<<<<<<<<<<<"},
		{Key: "mrz2", Value: "M123456784KOR8001011M24060911234567V12345678"},
	}}
	b, err := json.Marshal(a.raw(false))
	if err != nil {
		t.Fatal(err)
	}
	for _, whole := range []string{"M12345678", "1234567", "7654321", "174133"} {
		if strings.Contains(string(b), whole) {
			t.Errorf("raw copy holds %s:\n%s", whole, b)
		}
	}
	f := a.fields(false)
	if f.PersonalNumber == nil || f.PersonalNumber.Text != "*******" || f.PersonalNumber.Value != "*******" {
		t.Errorf("passport personalNumber = %+v, want all masked", f.PersonalNumber)
	}
}
