package vendorset

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Each driver describes itself completely, and the client it builds agrees
// with the description: config and the pipeline ask the driver, the
// handler asks the client.
func TestDriversDescribeTheirClients(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Drivers {
		if d.Kind == "" || seen[d.Kind] {
			t.Errorf("kind %q empty or listed twice", d.Kind)
		}
		seen[d.Kind] = true
		if Lookup(d.Kind) != d {
			t.Errorf("Lookup(%q) is another driver", d.Kind)
		}
		if len(d.Types) == 0 || len(d.Formats) == 0 || d.Options == nil || d.New == nil || d.MaskRaw == nil {
			t.Errorf("%s: incomplete driver %+v", d.Kind, d)
			continue
		}
		for _, dt := range d.Types {
			if !result.KnownType(dt) {
				t.Errorf("%s reads unknown type %q", d.Kind, dt)
			}
		}
		opts := d.Options()
		opts.SetDefaults()
		if err := opts.Validate(); err != nil {
			t.Errorf("%s: default options invalid: %v", d.Kind, err)
		}
		c, err := New("v", vendors.Account{Kind: d.Kind, URL: "https://vendor.example", Secret: "s", Concurrency: 1, Options: withCredentials(opts)})
		if err != nil {
			t.Errorf("%s: %v", d.Kind, err)
			continue
		}
		if c.Kind() != d.Kind || !slices.Equal(c.Formats(), d.Formats) {
			t.Errorf("%s: client says kind %q formats %v; driver %v", d.Kind, c.Kind(), c.Formats(), d.Formats)
		}
		for _, dt := range append(result.DocumentTypes, "no-such-type") {
			if c.Supports(dt) != d.Reads(dt) {
				t.Errorf("%s: client Supports(%s) = %v, driver Reads = %v", d.Kind, dt, c.Supports(dt), d.Reads(dt))
			}
		}
	}
	if Lookup("no-such-kind") != nil {
		t.Error("Lookup of an unknown kind found a driver")
	}
}

// withCredentials fills every credential an option set requires, by
// setting the string field the key names.
func withCredentials(o vendors.Options) vendors.Options {
	if cr, ok := o.(vendors.Credentials); ok && cr.MissingCredential() != "" {
		setYAMLString(o, cr.MissingCredential(), "credential")
	}
	return o
}

func TestNewRejectsAnUnknownKind(t *testing.T) {
	if _, err := New("x", vendors.Account{Kind: "tesseract", URL: "https://x", Secret: "s"}); err == nil || err.Error() != `vendors.x.kind: unknown kind "tesseract"` {
		t.Errorf("err = %v", err)
	}
}

func TestKindList(t *testing.T) {
	if got := KindList(); got != "clova-ocr, clova-ekyc or nhn-ocr" {
		t.Errorf("KindList() = %q", got)
	}
}

func TestMaskRawOfAnUnknownKindStillScrubs(t *testing.T) {
	out, err := MaskRaw("tesseract", []byte(`{"text":"주민 800101-1234567"}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "800101-1234567") {
		t.Errorf("not scrubbed: %s", out)
	}
}

// setYAMLString sets the string field of *struct o tagged yaml:"key".
func setYAMLString(o any, key, value string) {
	v := reflect.ValueOf(o).Elem()
	for i := 0; i < v.NumField(); i++ {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); name == key && v.Field(i).Kind() == reflect.String {
			v.Field(i).SetString(value)
		}
	}
}
