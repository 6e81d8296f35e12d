package ekyc

import (
	"strings"
	"testing"
)

func TestSanitizeRawDropsAndMasksEveryKeySpelling(t *testing.T) {
	raw := `{"result":{"Feature":[0.1,0.2],"ALIGNEDIMAGE":"aGVsbG8=","alignedimage":"x",
		"ic":{"PersonalNum":{"text":"800101-1234567"}},"DL":{"Num":{"text":"11-17-174133-01"}},
		"Pp":{"NUM":{"text":"M12345678"},"PersonalNum":{"text":"7654321"}},"AC":{"AlienRegNum":{"text":"900101-5234567"}}}}`
	b, err := sanitizeRaw([]byte(raw), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, whole := range []string{"0.1", "aGVsbG8", `"x"`, "1234567", "174133", "M12345678", "5234567", "765"} {
		if strings.Contains(string(b), whole) {
			t.Errorf("raw copy holds %s:\n%s", whole, b)
		}
	}
	// Face data never stays, not even with pii: full.
	b, _ = sanitizeRaw([]byte(raw), true)
	if strings.Contains(string(b), "0.1") || strings.Contains(string(b), "aGVsbG8") {
		t.Errorf("pii raw copy holds face data:\n%s", b)
	}
}
