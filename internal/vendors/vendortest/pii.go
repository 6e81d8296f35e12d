package vendortest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Helpers for the masked-mode fuzz targets of every vendor package: free
// text with a resident or card number embedded in one of the spellings
// masked mode must catch, and a check that no whole number survives.

// PIIText embeds a personal number chosen by kind and seed between prefix
// and suffix (each cut to 24 runes). It returns the text and the number's
// ASCII digits. Even kinds are resident/alien registration numbers, odd
// kinds card numbers; kind/2 picks the spelling.
func PIIText(prefix, suffix string, kind uint8, seed uint64) (text, digits string) {
	var number string
	if kind%2 == 0 {
		number, digits = residentSpelling(kind/2, seed)
	} else {
		number, digits = cardSpelling(kind/2, seed)
	}
	return cut(prefix) + " " + number + " " + cut(suffix), digits
}

func cut(s string) string {
	r := []rune(s)
	if len(r) > 24 {
		r = r[:24]
	}
	return string(r)
}

func residentSpelling(spelling uint8, seed uint64) (string, string) {
	yy, mm, dd := seed%100, 1+(seed/100)%12, 1+(seed/1200)%28
	back := 1_000_000 + (seed/33600)%9_000_000 // first digit 1-9: sex/century or alien class
	d := fmt.Sprintf("%02d%02d%02d%07d", yy, mm, dd, back)
	front, rest := d[:6], d[6:]
	switch spelling % 8 {
	case 0:
		return front + "-" + rest, d
	case 1:
		return front + " " + rest, d
	case 2:
		// Bare: numbers issued before October 2020 carry a check digit.
		d = d[:12] + residentCheck(d[:12])
		return d, d
	case 3:
		return fullWidth(front) + "－" + fullWidth(rest), d
	case 4:
		return front + "–" + rest, d
	case 5:
		return front + "—" + rest, d
	case 6:
		return d[:4] + " " + d[4:6] + " - " + d[6:10] + " " + d[10:], d
	default:
		return front + " - " + rest, d
	}
}

func residentCheck(d12 string) string {
	w := []int{2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5}
	sum := 0
	for i, x := range w {
		sum += int(d12[i]-'0') * x
	}
	return fmt.Sprint((11 - sum%11) % 10)
}

var cardPrefixes = []struct {
	prefix string
	length int
}{{"4", 16}, {"53", 16}, {"51", 16}, {"37", 15}, {"62", 19}, {"94", 16}, {"35", 16}}

func cardSpelling(spelling uint8, seed uint64) (string, string) {
	p := cardPrefixes[seed%uint64(len(cardPrefixes))]
	body := p.prefix + fmt.Sprintf("%018d", seed)
	d := body[:p.length-1]
	d += luhnCheck(d)
	groups := func(sep string) string {
		var parts []string
		for i := 0; i < len(d); i += 4 {
			parts = append(parts, d[i:min(i+4, len(d))])
		}
		return strings.Join(parts, sep)
	}
	switch spelling % 5 {
	case 0:
		return groups(" "), d
	case 1:
		return groups("-"), d
	case 2:
		return d, d
	case 3:
		return fullWidth(groups(" ")), d
	default:
		return groups(" - "), d
	}
}

func luhnCheck(d string) string {
	sum := 0
	for i := 0; i < len(d); i++ {
		x := int(d[len(d)-1-i] - '0')
		if i%2 == 0 {
			if x *= 2; x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return fmt.Sprint((10 - sum%10) % 10)
}

func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '０' + (r - '0')
		}
		return r
	}, s)
}

// InjectText replaces every string of a JSON document with text, except
// the strings under keys keep says to leave (status words a parser needs).
func InjectText(doc []byte, text string, keep func(key string) bool) ([]byte, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if _, isString := c.(string); !isString || !keep(k) {
					t[k] = walk(c)
				}
			}
		case []any:
			for i, c := range t {
				t[i] = walk(c)
			}
		case string:
			return text
		}
		return v
	}
	return json.Marshal(walk(v))
}

// AssertMasked fails t if the digits of a personal number survive whole
// (in any spelling) in a masked answer: its fields and its raw copy, after
// the pass every answer gets (vendors.Scrub). Fields whose meaning is a
// known number (business and phone numbers, bar codes, amounts, dates)
// keep their own rules and are not checked.
func AssertMasked(t testing.TB, documentType string, resp *vendors.Response, digits string) {
	t.Helper()
	if err := vendors.Scrub(documentType, resp); err != nil {
		t.Fatalf("scrub: %v", err)
	}
	fields, err := json.Marshal(resp.Fields)
	if err != nil {
		t.Fatal(err)
	}
	for what, doc := range map[string][]byte{"fields": fields, "raw copy": resp.Raw} {
		if len(doc) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if s, ok := wholeNumberIn(v, digits); ok {
			t.Fatalf("%s %s holds the whole number %s in %q", documentType, what, digits, s)
		}
	}
}

func wholeNumberIn(v any, digits string) (string, bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if normalize.KnownNumberKey(k) {
				continue
			}
			if s, ok := wholeNumberIn(c, digits); ok {
				return s, true
			}
		}
	case []any:
		for _, c := range t {
			if s, ok := wholeNumberIn(c, digits); ok {
				return s, true
			}
		}
	case string:
		for _, run := range digitRuns(t) {
			if strings.Contains(run, digits) {
				return t, true
			}
		}
	}
	return "", false
}

// digitRuns are the runs of digits of s, read through the separators a
// number may be spelled with (spaces, dashes); anything else ends a run.
func digitRuns(s string) []string {
	var runs []string
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '−':
		default:
			if b.Len() > 0 {
				runs = append(runs, b.String())
				b.Reset()
			}
		}
	}
	return append(runs, b.String())
}

// HoldsWhole reports whether text holds the digits of a number whole, in
// any spelling.
func HoldsWhole(text, digits string) bool {
	_, ok := wholeNumberIn(text, digits)
	return ok
}

// WithoutBoxes drops the bounding polygons of an answer (numbers only,
// most of its bytes), so fuzz executions stay fast.
func WithoutBoxes(doc []byte) []byte {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return doc
	}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if strings.Contains(strings.ToLower(k), "boundingpoly") {
					delete(t, k)
					continue
				}
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	walk(v)
	out, err := json.Marshal(v)
	if err != nil {
		return doc
	}
	return out
}
