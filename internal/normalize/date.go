package normalize

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Date turns a date as printed on Korean documents into "YYYY-MM-DD".
// It accepts any separators between three digit groups (year first):
// "2014 년 06 월 09 일", "2012. 6. 1.", "2011.3. 6.", "2019.01.01",
// "2020-04-16", "1987/02/01", and the unseparated "20190101". Vendors drop
// the odd unit ("1951 년 12 03 일"), so units are treated as separators.
//
// Two-digit years are read only as receipts print them, "YY-MM-DD",
// "YY.MM.DD" or "YY/MM/DD" (one separator throughout): as 20YY unless that
// is more than a day in the future, then 19YY (see shortYearDate).
func Date(text string) (string, bool) {
	groups := digitGroups(text)
	switch {
	case len(groups) == 1 && len(groups[0]) == 8:
		g := groups[0]
		return DateParts(g[:4], g[4:6], g[6:])
	case len(groups) == 3 && len(groups[0]) == 4:
		return DateParts(groups[0], groups[1], groups[2])
	case len(groups) == 3 && len(groups[0]) == 2:
		return shortYearDate(text, groups)
	}
	return "", false
}

// shortYearDate reads "YY-MM-DD" (or with "." or "/"): real CLOVA receipts
// answer "20-09-26" with an empty formatted year. The century is the one
// that does not put the date in the future; a day of slack covers a
// receipt printed where the date has already turned.
func shortYearDate(text string, groups []string) (string, bool) {
	var seps []rune
	for _, r := range strings.TrimSpace(text) {
		switch {
		case r == '-' || r == '.' || r == '/':
			seps = append(seps, r)
		case unicode.IsSpace(r):
		case r >= '0' && r <= '9', r >= '０' && r <= '９':
		default:
			return "", false // units, letters: not this layout
		}
	}
	// Two separators, the same; a trailing one ("20. 9. 26.") is allowed.
	if len(seps) == 3 && seps[2] == seps[0] {
		seps = seps[:2]
	}
	if len(seps) != 2 || seps[0] != seps[1] {
		return "", false
	}
	yy, _ := strconv.Atoi(groups[0])
	date, ok := DateParts(strconv.Itoa(2000+yy), groups[1], groups[2])
	if !ok {
		return "", false
	}
	if date > clock().AddDate(0, 0, 1).Format("2006-01-02") {
		return DateParts(strconv.Itoa(1900+yy), groups[1], groups[2])
	}
	return date, true
}

// clock is the time two-digit years are judged against (a test sets it).
var clock = time.Now

// DateParts builds "YYYY-MM-DD" from the year/month/day strings of a vendor's
// formatted date object (CLOVA DateObject.formatted). Empty or impossible
// parts (month 13, February 30) fail.
func DateParts(year, month, day string) (string, bool) {
	y, err1 := strconv.Atoi(strings.TrimSpace(year))
	m, err2 := strconv.Atoi(strings.TrimSpace(month))
	d, err3 := strconv.Atoi(strings.TrimSpace(day))
	if err1 != nil || err2 != nil || err3 != nil || len(strings.TrimSpace(year)) != 4 {
		return "", false
	}
	return isoDate(y, m, d)
}

func isoDate(y, m, d int) (string, bool) {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 {
		return "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // time.Date rolls 02-30 over into March
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), true
}

// Time turns a printed time into "HH:MM:SS": "20: 11" -> "20:11:00",
// "13:05:09", "201100", "오후 3:10" -> "15:10:00" (오후/PM add 12 hours to
// hours 1-11; 오전/AM turn 12 into 0).
func Time(text string) (string, bool) {
	groups := digitGroups(text)
	var h, m, s string
	switch {
	case len(groups) == 1 && (len(groups[0]) == 4 || len(groups[0]) == 6):
		g := groups[0]
		h, m = g[:2], g[2:4]
		if len(g) == 6 {
			s = g[4:]
		}
	case len(groups) == 2 || len(groups) == 3:
		h, m = groups[0], groups[1]
		if len(groups) == 3 {
			s = groups[2]
		}
	default:
		return "", false
	}
	upper := strings.ToUpper(text)
	pm := strings.Contains(text, "오후") || strings.Contains(upper, "PM")
	am := strings.Contains(text, "오전") || strings.Contains(upper, "AM")
	hh, err := strconv.Atoi(h)
	if err != nil {
		return "", false
	}
	switch {
	case pm && hh >= 1 && hh <= 11:
		hh += 12
	case am && hh == 12:
		hh = 0
	}
	return TimeParts(strconv.Itoa(hh), m, s)
}

// TimeParts builds "HH:MM:SS" from a vendor's formatted hour/minute/second
// (CLOVA TimeObject.formatted); an empty second means 0.
func TimeParts(hour, minute, second string) (string, bool) {
	if strings.TrimSpace(second) == "" {
		second = "0"
	}
	h, err1 := strconv.Atoi(strings.TrimSpace(hour))
	m, err2 := strconv.Atoi(strings.TrimSpace(minute))
	s, err3 := strconv.Atoi(strings.TrimSpace(second))
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59 {
		return "", false
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s), true
}

// digitGroups returns the runs of ASCII digits in s. Other digit scripts
// (full-width) are folded to ASCII first.
func digitGroups(s string) []string {
	var groups []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			groups = append(groups, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		if d, ok := asciiDigit(r); ok {
			cur.WriteByte(d)
			continue
		}
		flush()
	}
	flush()
	return groups
}

// asciiDigit maps ASCII and full-width digits (common in Korean print) to
// ASCII.
func asciiDigit(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r), true
	case r >= '０' && r <= '９':
		return byte('0' + (r - '０')), true
	}
	return 0, false
}

// Digits returns only the digits of s.
func Digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if d, ok := asciiDigit(r); ok {
			b.WriteByte(d)
		}
	}
	return b.String()
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }
