package layout

import (
	"strings"
	"testing"
)

// Validation errors are logged and go into asynq's last error: they say
// which field is wrong, never its value (keys hold names and numbers).
func TestPayloadErrorsQuoteNoURI(t *testing.T) {
	for name, p := range map[string]Recognize{
		"source not s3":  {V: 1, Source: "/data/Kim 800101-1234567.jpg", Out: "s3://out/"},
		"source prefix":  {V: 1, Source: "s3://in/Kim 800101-1234567/", Out: "s3://out/"},
		"no bucket":      {V: 1, Source: "s3:///Kim 800101-1234567.jpg", Out: "s3://out/"},
		"out not s3":     {V: 1, Source: "s3://in/a.jpg", Out: "/res/Kim 800101-1234567/"},
		"face not s3":    {V: 1, Source: "s3://in/a.jpg", Out: "s3://out/", Type: "face-compare", Face: "Kim 800101-1234567.jpg"},
		"face is prefix": {V: 1, Source: "s3://in/a.jpg", Out: "s3://out/", Type: "face-compare", Face: "s3://in/Kim 800101-1234567/"},
	} {
		_, err := p.Parse()
		if err == nil {
			t.Errorf("%s: valid", name)
			continue
		}
		for _, leak := range []string{"Kim", "800101"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: error %q holds %q", name, err, leak)
			}
		}
	}
}
