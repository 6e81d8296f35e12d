package normalize

import (
	"bytes"
	"encoding/json"
	"strings"
)

// knownNumberKeys are field names (result fields and vendor answer keys,
// case-folded) whose meaning is a known number: they keep their own rules
// and are not scrubbed by ScrubText's pattern, which could take a
// corporate registration number (110111-1234567) for a resident number.
var knownNumberKeys = map[string]bool{
	"biznum": true, "registernumber": true, "corpregisternum": true, "corpregisternumber": true,
	"tel": true, "mobile": true, "fax": true, "code": true,
	"price": true, "unitprice": true, "totalprice": true, "count": true,
	"date": true, "time": true, "opendate": true, "issuancedate": true, "issuedate": true,
	"birthdate": true, "expirydate": true, "renewstart": true, "renewend": true, "validthru": true,
}

// personalFields are the result fields (per document type) that are
// personal numbers, with their masks.
var personalFields = map[string]map[string]func(string) string{
	"id-card": {"personalnumber": MaskResidentNumber, "licensenumber": MaskLicenseNumber,
		"passportnumber": MaskPassportNumber, "aliennumber": MaskResidentNumber},
	"passport":    {"passportnumber": MaskPassportNumber, "personalnumber": MaskAll},
	"credit-card": {"number": MaskCardNumber},
	"receipt":     {"cardnumber": MaskCardNumber},
}

// ScrubFields masks the "fields" JSON of a result of documentType as masked
// mode requires, whatever wrote it: personal-number fields get their own
// mask (a passport's personal number on an id-card is masked whole), known
// numbers stay, and every other string goes through ScrubText. It reports
// whether anything changed. Masks are idempotent, so scrubbing a current
// result changes nothing.
func ScrubFields(documentType string, fields []byte) ([]byte, bool, error) {
	rules := personalFields[documentType]
	if documentType == "id-card" && bytes.Contains(fields, []byte(`"passport"`)) {
		var head struct {
			IDType string `json:"idType"`
		}
		if json.Unmarshal(fields, &head) == nil && head.IDType == "passport" {
			rules = map[string]func(string) string{"personalnumber": MaskAll, "passportnumber": MaskPassportNumber}
		}
	}
	return scrubJSON(fields, rules)
}

// ScrubRaw scrubs every string of a vendor answer kept as a raw copy with
// ScrubText, except those under known-number keys. Vendors mask their own
// personal-number keys first; this catches numbers in free text.
func ScrubRaw(raw []byte) ([]byte, bool, error) {
	return scrubJSON(raw, nil)
}

func scrubJSON(data []byte, rules map[string]func(string) string) ([]byte, bool, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false, err
	}
	s := scrubber{rules: rules}
	v = s.walk(v, nil)
	if !s.changed {
		return data, false, nil
	}
	b, err := json.Marshal(v)
	return b, true, err
}

type scrubber struct {
	rules   map[string]func(string) string
	changed bool
}

// walk scrubs v; mask, when set by an enclosing key, replaces the scrub
// (keep is a mask returning its input).
func (s *scrubber) walk(v any, mask func(string) string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			m := mask
			if m == nil {
				lk := strings.ToLower(k)
				if r, ok := s.rules[lk]; ok {
					m = r
				} else if knownNumberKeys[lk] {
					m = keep
				}
			}
			t[k] = s.walk(child, m)
		}
	case []any:
		for i, child := range t {
			t[i] = s.walk(child, mask)
		}
	case string:
		out := t
		if mask != nil {
			out = mask(t)
		} else {
			out = ScrubText(t)
		}
		if out != t {
			s.changed = true
		}
		return out
	}
	return v
}

func keep(s string) string { return s }

// KnownNumberKey reports whether a field or answer key (any case) holds a
// known number that keeps its own rules (not scrubbed as free text).
func KnownNumberKey(key string) bool { return knownNumberKeys[strings.ToLower(key)] }
