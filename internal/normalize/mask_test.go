package normalize

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
)

func TestMaskResidentNumber(t *testing.T) {
	cases := []struct{ in, want string }{
		{"800101-1234567", "800101-1******"},
		{"910623-1062372", "910623-1******"}, // CLOVA id-card seed
		{"8001011234567", "800101-1******"},
		{"800101 - 1234567", "800101-1******"},
		{"800***-234****", "800***-2******"}, // already masked by the vendor (2026 seed)
		{"800101-12345", "80010******"},      // misread length: at most half shown
		{"", ""},
	}
	for _, c := range cases {
		if got := MaskResidentNumber(c.in); got != c.want {
			t.Errorf("MaskResidentNumber(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestMaskCardNumber(t *testing.T) {
	cases := []struct{ in, want string }{
		{"5307123456789012", "5307-12**-****-9012"},
		{"5307123456749012", "5307-12**-****-9012"}, // credit-card seed
		{"5307 1234 5674 9012", "5307-12**-****-9012"},
		{"371449635398431", "3714-49**-***8-431"}, // 15-digit Amex
		{"4221**8666", "422*****66"},              // receipt seed: printed masked, still at most half shows
		{"42218666", "42****66"},
		{"", ""},
	}
	for _, c := range cases {
		if got := MaskCardNumber(c.in); got != c.want {
			t.Errorf("MaskCardNumber(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestMaskLicenseAndPassport(t *testing.T) {
	lic := []struct{ in, want string }{
		{"11-17-174133-01", "11-17-******-01"},
		{"서울 17-174133-01", "서울-17-******-01"},
		{"111717413301", "11-17-******-01"},
		{"1117", "11**"},
	}
	for _, c := range lic {
		if got := MaskLicenseNumber(c.in); got != c.want {
			t.Errorf("MaskLicenseNumber(%q) = %q; want %q", c.in, got, c.want)
		}
	}
	// A license pattern inside a longer digit run is not a license number:
	// its region and check digits would keep another number's digits in
	// the clear (found by nhn's FuzzMaskedFreeText).
	for _, in := range []string{"  660503-1000015 000000000000000000000000", " 660503-1000015000000000000000000000000"} {
		if got := MaskLicenseNumber(in); strings.Contains(strings.NewReplacer("-", "", " ", "").Replace(got), "6605031000015") {
			t.Errorf("MaskLicenseNumber(%q) = %q holds the resident number whole", in, got)
		}
	}
	pp := []struct{ in, want string }{
		{"M12345678", "M123*****"},
		{"M123A4567", "M123*****"}, // passport seed
		{"AB12", "AB**"},
	}
	for _, c := range pp {
		if got := MaskPassportNumber(c.in); got != c.want {
			t.Errorf("MaskPassportNumber(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestMaskMRZ(t *testing.T) {
	in := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
	got := MaskMRZ(in)
	l1, l2, ok := SplitMRZ(got)
	if !ok {
		t.Fatalf("masked MRZ not two lines: %q", got)
	}
	if l1 != "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" {
		t.Errorf("line 1 changed: %q", l1)
	}
	if want := "L898******UTO7408122F1204159*********<<<<<**"; l2 != want {
		t.Errorf("line 2 = %q; want %q", l2, want)
	}
	// The CLOVA seed's lines are 46 characters, no MRZ: masked whole.
	seed := "PMKORHONG<<GILSOON<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nM123A45670KOR8702010F3008150V20000000000000000"
	if got := MaskMRZ(seed); strings.ContainsAny(got, "0123456789") {
		t.Errorf("seed MRZ not masked: %q", got)
	}
}

func TestMaskField(t *testing.T) {
	f := NewField("800101-1234567", "800101-1234567", Confidence(0.9), nil)
	MaskField(f, MaskResidentNumber)
	if f.Text != "800101-1******" || f.Value != "800101-1******" {
		t.Errorf("masked field = %+v", f)
	}
	MaskField(nil, MaskResidentNumber) // must not panic
}

func TestMaskJSON(t *testing.T) {
	raw := []byte(`{"images":[{"idCard":{"result":{"ic":{"personalNum":[{"text":"910623-1062372","formatted":{"value":"910623-1062372"}}],"name":[{"text":"소닉"}]}}}}]}`)
	out, err := MaskJSON(raw, map[string]func(string) string{"personalNum": MaskResidentNumber})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "1062372") {
		t.Errorf("raw still holds the back part: %s", s)
	}
	if !strings.Contains(s, "910623-1******") || !strings.Contains(s, "소닉") {
		t.Errorf("unexpected masked raw: %s", s)
	}
	if !json.Valid(out) {
		t.Errorf("invalid JSON")
	}
	out, err = MaskJSON([]byte(`{"dl":{"num":[{"text":"11-17-174133-01"}]},"pp":{"num":[{"text":"M12345678"}]}}`),
		map[string]func(string) string{"dl.num": MaskLicenseNumber, "pp.num": MaskPassportNumber, "num": MaskAll})
	if err != nil || string(out) != `{"dl":{"num":[{"text":"11-17-******-01"}]},"pp":{"num":[{"text":"M123*****"}]}}` {
		t.Errorf("parent rules: %s, %v", out, err)
	}
	if _, err := MaskJSON([]byte("{"), nil); err == nil {
		t.Errorf("want error on bad JSON")
	}
}

func TestNewField(t *testing.T) {
	f := NewField("x", nil, Confidence(1.5), []Box{{}, {{1, 2}, {3, 4}}})
	if f.Confidence != nil {
		t.Errorf("out-of-range confidence kept")
	}
	if len(f.Boxes) != 1 {
		t.Errorf("empty box kept: %v", f.Boxes)
	}
	b, _ := json.Marshal(f)
	if string(b) != `{"value":null,"text":"x","boxes":[[[1,2],[3,4]]]}` {
		t.Errorf("json = %s", b)
	}
	_ = result.Field{}
}

// Mask edge cases of issue 9: a number next to another must not escape
// with it, and a short number in a card field shows at most half of it.
func TestMaskEdgeCases(t *testing.T) {
	for _, c := range []struct {
		name, got, want string
	}{
		{"license with a resident number after it", MaskLicenseNumber("11-17-174133-01 800101-1234567"), "11-17-******-01 800101-1******"},
		{"license with a card number after it", MaskLicenseNumber("11-17-174133-01 4111 1111 1111 1111"), "11-17-******-01 4111-11**-****-1111"},
		{"12-digit card field", MaskCardNumber("123456789012"), "123******012"},
		{"10 characters already masked by the vendor", MaskCardNumber("4221**8666"), "422*****66"},
		{"8-digit card field", MaskCardNumber("42218666"), "42****66"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	// Property: a card field never shows more than 6 leading and 4 trailing
	// digits, nor more than half of them when shorter than a card number.
	for n := 1; n <= 19; n++ {
		in := strings.Repeat("7", n)
		shown := strings.Count(MaskCardNumber(in), "7")
		if limit := min(10, n/2); n < 13 && shown > limit || shown > 10 {
			t.Errorf("MaskCardNumber(%d digits) shows %d digits", n, shown)
		}
	}
}
