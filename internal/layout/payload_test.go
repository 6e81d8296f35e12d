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

// A payload that fails to parse still says where its failure result goes
// when it can: a newer version's task gets its invalid_task result (or is
// handed back), a task without a source object is archived.
func TestParseFillsWhatItCanRead(t *testing.T) {
	d, err := DecodeRecognize([]byte(`{"v":99,"source":"s3://in/docs/a.png","type":"receipt","out":"s3://out/r","extra":1}`))
	if err == nil || !d.Writable() || d.ResultKey() != "r/docs/a.png.json" || d.V != 99 {
		t.Errorf("newer version: %v, writable %v, key %q", err, d.Writable(), d.ResultKey())
	}
	for _, b := range []string{`{"v":1,"source":"s3://in/docs/","type":"receipt","out":"s3://out/"}`, `{"v":1,"out":"s3://out/"}`,
		`{"v":1,"source":"s3://in/a.png","type":"receipt"}`, `not json`} {
		if d, err := DecodeRecognize([]byte(b)); err == nil || d.Writable() {
			t.Errorf("%s: %v, writable %v; want an error and nowhere to write", b, err, d.Writable())
		}
	}
	d, err = DecodeRecognize([]byte(`{"v":1,"source":"s3://in/card.jpg","face":"s3://f/face.jpg","type":"face-compare","out":"s3://out/"}`))
	if err != nil || d.FaceSrc.Bucket != "f" || d.FaceSrc.Key != "face.jpg" || d.Dest.Key != "" || d.Owner() != Owner("s3://in/card.jpg") {
		t.Errorf("face-compare: %v %+v", err, d)
	}
}
