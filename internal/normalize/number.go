package normalize

import (
	"math"
	"strconv"
	"strings"
)

// Number reads an amount or a count: "1,234원" -> 1234, "₩ 12,000" -> 12000,
// "-3,500" -> -3500, "1.5" -> 1.5, "2개" -> 2; "A123" fails. Thousands separators (",")
// and currency words are dropped; a text with two separate numbers
// ("2 1,600") fails rather than pick one.
func Number(text string) (float64, bool) {
	var b strings.Builder
	started, ended := false, false
	for _, r := range strings.TrimSpace(text) {
		d, isDigit := asciiDigit(r)
		switch {
		case isDigit:
			if ended {
				return 0, false
			}
			b.WriteByte(d)
			started = true
		case r == ',' && started:
			// thousands separator
		case r == '.' && started && !ended:
			b.WriteByte('.')
		case (r == '-' || r == '−') && !started && b.Len() == 0:
			b.WriteByte('-')
		case !started && (isSpace(r) || r == '₩' || r == '\\' || r == '$' || r == '+'):
			// currency signs and spacing before the amount ('\\' is how
			// Korean fonts render the won sign in ASCII text)
		default:
			if !started {
				return 0, false // "A123" is a code, not an amount
			}
			ended = true
		}
	}
	if !started {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(b.String(), "."), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// NumberValue is Number as a result-v1 value: an int64 when the number is
// whole (so JSON shows 1234, not 1234.0 in any encoder), a float64 otherwise,
// nil when the text holds no number.
func NumberValue(text string) any {
	v, ok := Number(text)
	if !ok {
		return nil
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return int64(v)
	}
	return v
}
