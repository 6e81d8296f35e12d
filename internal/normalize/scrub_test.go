package normalize

import (
	"encoding/json"
	"testing"
)

func TestScrubText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// resident / alien registration numbers, every spelling
		{"800101-1234567", "800101-1******"},
		{"주민 800101-1234567", "주민 800101-1******"},
		{"환자 김철수 800101 1234567 외래", "환자 김철수 800101-1****** 외래"},
		{"8001011234560", "800101-1******"},               // bare, resident check digit valid
		{"주민등록번호:8801043014809", "주민등록번호:880104-3******"}, // bare EAN-shaped, but the keyword says resident
		{"８００１０１－１２３４５６７", "800101-1******"},              // full-width digits and dash
		{"800101–1234567 / 800101—1234567", "800101-1****** / 800101-1******"},
		{"8001 01 - 1234 567", "800101-1******"},     // spaces inside
		{"외국인 900101-5234567", "외국인 900101-5******"}, // alien registration number
		{"(800101-1234567)", "(800101-1******)"},
		// card numbers
		{"카드번호 5307123456789012", "카드번호 5307-12**-****-9012"}, // not Luhn-valid, but the keyword says card
		{"4111 1111 1111 1111", "4111-11**-****-1111"},
		{"결제 5307-1234-5678-9014 승인", "결제 5307-12**-****-9014 승인"},
		{"amex 3782 822463 10005", "amex 3782-82**-***0-005"},
		{"9410-1234-5678-9010", "9410-12**-****-9010"},
		// false positives a shape-only rule would make: left alone
		{"새우깡 8801043014809", "새우깡 8801043014809"}, // EAN-13 bar code in an item name
		{"8801062518494 콜라", "8801062518494 콜라"},
		{"800101-12345678", "800101-12345678"},         // 14 digits: not a resident number
		{"801301-1234567", "801301-1234567"},           // month 13: not a birth date
		{"5307-1234-5678-9012", "5307-1234-5678-9012"}, // not Luhn-valid, no card keyword
		{"8111 1111 1111 1116", "8111 1111 1111 1116"}, // Luhn-valid but no card starts with 8
		{"02-1234-5678", "02-1234-5678"},
		{"합계 1,234,567,890,123원", "합계 1,234,567,890,123원"},
		{"2024-01-01 12:30:45", "2024-01-01 12:30:45"},
		{"800101-1******", "800101-1******"}, // already masked
		{"", ""},
	} {
		if got := ScrubText(c.in); got != c.want {
			t.Errorf("ScrubText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The worker re-applies every mask over what the vendor already masked, and
// remask over old results: masking a masked value must change nothing.
func TestMasksAreIdempotent(t *testing.T) {
	masks := map[string]func(string) string{"resident": MaskResidentNumber, "card": MaskCardNumber,
		"license": MaskLicenseNumber, "passport": MaskPassportNumber, "all": MaskAll, "mrz": MaskMRZ, "scrub": ScrubText}
	inputs := []string{"800101-1234567", "5307123456789014", "4221**8666", "123456789012", "11-17-174133-01",
		"서울 17-174133-01", "11-17-174133-01 800101-1234567", "M12345678", "1234567", "",
		"PMKORKIM<<MINJUN<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nM123456784KOR8001011M24060911234567V12345678", "주민 800101-1234567"}
	for name, mask := range masks {
		for _, in := range inputs {
			once := mask(in)
			if twice := mask(once); twice != once {
				t.Errorf("%s(%q) = %q, again %q", name, in, once, twice)
			}
		}
	}
}

func TestScrubFields(t *testing.T) {
	for _, c := range []struct {
		docType, in, want string
	}{
		{"biz-license", `{"corpRegisterNumber":{"value":"110111-1234567","text":"110111-1234567"},"representative":{"value":"대표 800101-1234567","text":"x"}}`,
			`{"corpRegisterNumber":{"text":"110111-1234567","value":"110111-1234567"},"representative":{"text":"x","value":"대표 800101-1******"}}`},
		{"id-card", `{"idType":"passport","personalNumber":{"value":"1234567","text":"1234567"}}`,
			`{"idType":"passport","personalNumber":{"text":"*******","value":"*******"}}`},
		{"id-card", `{"idType":"driver","licenseNumber":{"value":"11-17-******-01","text":"11-17-174133-01"}}`,
			`{"idType":"driver","licenseNumber":{"text":"11-17-******-01","value":"11-17-******-01"}}`},
		{"credit-card", `{"number":{"value":"5307123456789014","text":"5307 1234 5678 9014"}}`,
			`{"number":{"text":"5307-12**-****-9014","value":"5307-12**-****-9014"}}`},
		{"medical-receipt", `{"cells":[{"key":"주민등록번호","value":"800101-1234567"},{"key":"진찰료","value":12000}]}`,
			`{"cells":[{"key":"주민등록번호","value":"800101-1******"},{"key":"진찰료","value":12000}]}`},
		{"receipt", `{"items":[{"name":{"value":"새우깡 8801043014809","text":"x"},"code":{"value":"8801043014809","text":"8801043014809"}}]}`,
			`{"items":[{"name":{"value":"새우깡 8801043014809","text":"x"},"code":{"value":"8801043014809","text":"8801043014809"}}]}`},
	} {
		out, _, err := ScrubFields(c.docType, []byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if canon(t, out) != canon(t, []byte(c.want)) {
			t.Errorf("%s: %s\n got %s\nwant %s", c.docType, c.in, out, c.want)
		}
	}
}

func canon(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
