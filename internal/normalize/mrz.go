package normalize

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MRZ (ICAO Doc 9303) support. We parse and verify the machine readable zone
// ourselves instead of trusting a vendor's "refined" fields: the check digits
// are the only proof that the OCR read the passport number and dates right.

// CheckDigit computes the ICAO 9303 check digit of s: digits count as their
// value, A-Z as 10-35, '<' as 0, weighted 7-3-1 repeating, sum mod 10.
// ok is false when s holds any other character.
func CheckDigit(s string) (digit int, ok bool) {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		case c == '<':
			v = 0
		default:
			return 0, false
		}
		sum += v * weights[i%3]
	}
	return sum % 10, true
}

// checkOK reports whether the check character c is right for field.
func checkOK(field string, c byte) bool {
	d, ok := CheckDigit(field)
	if !ok {
		return false
	}
	return c == byte('0'+d)
}

// TD3 is a parsed passport MRZ (two lines of 44 characters).
type TD3 struct {
	DocumentCode   string // "P", "PM", "PO", ... ('<' filler removed)
	IssuingState   string // ICAO code, e.g. "KOR"
	Surname        string // '<' turned into spaces
	GivenNames     string
	DocumentNumber string // passport number, '<' filler removed
	Nationality    string
	BirthDate      string // YYYY-MM-DD, "" when the digits are no date
	Sex            string // "M", "F" or "X" (unspecified)
	ExpiryDate     string // YYYY-MM-DD, "" when the digits are no date
	PersonalNumber string // optional data, '<' filler removed

	Checks TD3Checks
}

// TD3Checks is the outcome of each check digit.
type TD3Checks struct {
	DocumentNumber, BirthDate, ExpiryDate, PersonalNumber, Composite bool
}

// Valid reports whether every check digit matched and both dates are dates.
func (t *TD3) Valid() bool {
	c := t.Checks
	return c.DocumentNumber && c.BirthDate && c.ExpiryDate && c.PersonalNumber && c.Composite &&
		t.BirthDate != "" && t.ExpiryDate != ""
}

// Expired reports whether the passport expired before now's date. Unknown
// expiry counts as not expired (the caller sees mrzValid false anyway).
func (t *TD3) Expired(now time.Time) bool {
	if t.ExpiryDate == "" {
		return false
	}
	return t.ExpiryDate < now.UTC().Format("2006-01-02")
}

// ErrNotTD3 is returned when the lines are not a TD3 MRZ.
var ErrNotTD3 = errors.New("not a TD3 passport MRZ")

// SplitMRZ splits vendor MRZ text into its two lines. Vendors give the lines
// joined by "\n" (CLOVA mrzLines) or as one 88-character run.
func SplitMRZ(text string) (line1, line2 string, ok bool) {
	var lines []string
	for _, l := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = cleanMRZ(l); l != "" {
			lines = append(lines, l)
		}
	}
	switch {
	case len(lines) == 2:
		return lines[0], lines[1], true
	case len(lines) == 1 && len(lines[0]) == 88:
		return lines[0][:44], lines[0][44:], true
	}
	return "", "", false
}

// cleanMRZ upper-cases a line and drops the spaces OCR likes to insert.
func cleanMRZ(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if isSpace(r) {
			return -1
		}
		return r
	}, s))
}

// ParseTD3 parses and verifies a passport MRZ. now decides the century of
// two-digit years: a birth year that would lie in the future is 19xx; an
// expiry year is 20xx unless that lies more than 50 years ahead.
// Line 1 may be short (OCR trims trailing filler) or carry surplus filler;
// line 2 must be complete, as its last character is the composite check.
func ParseTD3(line1, line2 string, now time.Time) (*TD3, error) {
	line1, line2 = cleanMRZ(line1), cleanMRZ(line2)
	if len(line1) > 44 && strings.Trim(line1[44:], "<") == "" {
		line1 = line1[:44] // surplus name filler changes nothing
	}
	if len(line1) < 44 && len(line1) >= 5 {
		line1 += strings.Repeat("<", 44-len(line1))
	}
	if len(line1) != 44 || len(line2) != 44 || line1[0] != 'P' {
		return nil, fmt.Errorf("%w: line lengths %d and %d", ErrNotTD3, len(line1), len(line2))
	}
	for _, l := range []string{line1, line2} {
		if _, ok := CheckDigit(l); !ok {
			return nil, fmt.Errorf("%w: character outside A-Z 0-9 <", ErrNotTD3)
		}
	}
	t := &TD3{
		DocumentCode:   strings.TrimRight(line1[0:2], "<"),
		IssuingState:   strings.Trim(line1[2:5], "<"),
		DocumentNumber: strings.TrimRight(line2[0:9], "<"),
		Nationality:    strings.Trim(line2[10:13], "<"),
		PersonalNumber: strings.TrimRight(line2[28:42], "<"),
	}
	surname, given, _ := strings.Cut(line1[5:], "<<")
	t.Surname = mrzName(surname)
	t.GivenNames = mrzName(given)
	switch line2[20] {
	case 'M', 'F':
		t.Sex = string(line2[20])
	default:
		t.Sex = "X"
	}
	t.BirthDate = mrzDate(line2[13:19], now, false)
	t.ExpiryDate = mrzDate(line2[21:27], now, true)

	t.Checks.DocumentNumber = checkOK(line2[0:9], line2[9])
	t.Checks.BirthDate = checkOK(line2[13:19], line2[19])
	t.Checks.ExpiryDate = checkOK(line2[21:27], line2[27])
	// An empty personal number may carry '<' instead of a check digit.
	t.Checks.PersonalNumber = checkOK(line2[28:42], line2[42]) ||
		(strings.Trim(line2[28:42], "<") == "" && line2[42] == '<')
	t.Checks.Composite = checkOK(line2[0:10]+line2[13:20]+line2[21:43], line2[43])
	return t, nil
}

func mrzName(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '<' }), " ")
}

// mrzDate turns YYMMDD into YYYY-MM-DD, "" when it is no date.
func mrzDate(s string, now time.Time, expiry bool) string {
	if len(s) != 6 || Digits(s) != s {
		return ""
	}
	yy := int(s[0]-'0')*10 + int(s[1]-'0')
	y := 2000 + yy
	if expiry {
		if y > now.Year()+50 {
			y -= 100
		}
	} else if y > now.Year() {
		y -= 100
	}
	iso, ok := isoDate(y, int(s[2]-'0')*10+int(s[3]-'0'), int(s[4]-'0')*10+int(s[5]-'0'))
	if !ok {
		return ""
	}
	return iso
}

// MRZDate converts a YYMMDD MRZ date; expiry selects the expiry-date
// century rule of ParseTD3.
func MRZDate(yymmdd string, now time.Time, expiry bool) (string, bool) {
	s := mrzDate(yymmdd, now, expiry)
	return s, s != ""
}
