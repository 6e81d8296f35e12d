package clovaocr

import (
	"strings"
	"testing"
)

// encoding/json matches keys case-insensitively, so a vendor answer may
// spell a sensitive key in any case; none may reach the raw copy whole.
func TestRawForStorageMasksEveryKeySpelling(t *testing.T) {
	raw := `{"images":[{"idCard":{"result":{
		"ic":{"PersonalNum":[{"text":"800101-1234567"}]},
		"DL":{"Num":[{"text":"11-17-174133-01"}]},
		"pp":{"NUM":[{"text":"M12345678"}],"CheckDigitForDocumentNumber":"7"}},
		"Passport":{"checkDigitForDocumentNumber":[{"text":"7"}]}},
		"creditCard":{"result":{"Number":{"text":"5307123456789014"}}}}]}`
	b, err := RawForStorage([]byte(raw), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, whole := range []string{"1234567", "174133", "M12345678", "5307123456789014", `"7"`} {
		if strings.Contains(string(b), whole) {
			t.Errorf("raw copy holds %s:\n%s", whole, b)
		}
	}
}
