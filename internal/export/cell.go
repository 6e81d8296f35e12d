package export

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// cell is one CSV value. numeric marks a value that came from a JSON number
// and is written as such (see escape).
type cell struct {
	s       string
	numeric bool
}

// listSeparator joins a field the vendor returned several times (name-card
// phones, biz-license business types) into one cell.
const listSeparator = "; "

// text is a plain string cell.
func text(s string) cell { return cell{s: s} }

// boolean is "true" or "false".
func boolean(b bool) cell { return cell{s: strconv.FormatBool(b)} }

// integer is a count.
func integer(n int) cell { return cell{s: strconv.Itoa(n), numeric: true} }

// number is a float from a typed field (similarity, checksum sums).
func number(f float64) cell {
	return cell{s: strconv.FormatFloat(f, 'f', -1, 64), numeric: true}
}

// field is a Field's normalized value, or the text as read when the value
// did not normalize (result-v1: value null, text kept). A missing field is
// an empty cell.
func field(f *result.Field) cell {
	if f == nil {
		return cell{}
	}
	return value(f.Value, f.Text)
}

// value formats a typed value, falling back to the text as read.
func value(v any, fallback string) cell {
	switch v := v.(type) {
	case nil:
		return text(fallback)
	case string:
		return text(v)
	case json.Number:
		return cell{s: v.String(), numeric: true}
	case float64: // fields decoded without UseNumber
		return number(v)
	case bool:
		return boolean(v)
	default:
		return text(fallback)
	}
}

// fields joins a repeated field into one cell.
func fields(fs []result.Field) cell {
	switch len(fs) {
	case 0:
		return cell{}
	case 1:
		return field(&fs[0])
	}
	parts := make([]string, len(fs))
	for i := range fs {
		parts[i] = field(&fs[i]).s
	}
	return text(strings.Join(parts, listSeparator))
}

// plainNumber is what a JSON number looks like; such a cell cannot hold a
// formula, whatever its first character.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// escape defends against CSV formula injection (OWASP "CSV Injection"): a
// cell that starts with = + - @, a tab or a carriage return is prefixed with
// a single quote, so a spreadsheet shows it as text instead of evaluating
// it. One exception, so that refunds stay summable: a cell that came from a
// JSON number and is nothing but a plain number ("-1000", "-12.5") is left
// as it is; it is a number literal, not a formula, and no text read from a
// document can take this path (text is never numeric).
func escape(c cell) string {
	if c.s == "" {
		return ""
	}
	if c.numeric && plainNumber.MatchString(c.s) {
		return c.s
	}
	switch c.s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + c.s
	}
	return c.s
}
