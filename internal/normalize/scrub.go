package normalize

import (
	"strings"
	"unicode/utf8"
)

// ScrubText masks the resident/alien registration numbers and payment card
// numbers found anywhere in a free text (a name, an address, an item name, a
// medical cell), keeping the text around them: "주민 800101-1234567" ->
// "주민 800101-1******". It is for text whose meaning is not a known number;
// fields that are known numbers (business numbers, phone numbers, bar
// codes, ...) keep their own rules and are not passed here.
//
// A number is a run of digit groups (ASCII or full-width digits) joined by
// short separators: spaces and at most one dash (-, en/em dash, minus,
// full-width dash) between two groups. Such a run is
//   - a resident number when it has 13 digits starting with a valid
//     YYMMDD. A bare 13-digit group that is a valid EAN-13 bar code and fails
//     the resident check digit is taken for a bar code, unless a resident
//     keyword (주민, 외국인, 등록번호, ...) comes just before it;
//   - a card number when it has 13-19 digits, passes the Luhn check and
//     starts like a payment card (2-6 or 9; 13 digits only for 4), or when a
//     card keyword (카드, card) comes just before it, Luhn or not.
//
// Masks are the vendors' ("800101-1******", "5307-12**-****-9012").
func ScrubText(s string) string {
	out, _ := scrubText(s)
	return out
}

// scrubText is ScrubText that also says whether anything was masked.
func scrubText(s string) (string, bool) {
	groups := numberGroups(s)
	if len(groups) == 0 {
		return s, false
	}
	var b strings.Builder
	last, changed := 0, false
	for i := 0; i < len(groups); {
		end, mask := matchNumber(s, groups, i)
		if mask == nil {
			i++
			continue
		}
		b.WriteString(s[last:groups[i].start])
		b.WriteString(mask(joinDigits(groups[i : end+1])))
		last, changed = groups[end].end, true
		i = end + 1
	}
	if !changed {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// digitGroup is one run of digits in a text: its byte span and ASCII digits.
type digitGroup struct {
	start, end int
	digits     string
	// joined: the text between the previous group and this one is a
	// number's separator, so the two can be one number.
	joined bool
}

func numberGroups(s string) []digitGroup {
	var groups []digitGroup
	var cur *digitGroup
	for i, r := range s {
		if d, ok := asciiDigit(r); ok {
			if cur == nil {
				g := digitGroup{start: i}
				if n := len(groups); n > 0 {
					g.joined = isNumberSeparator(s[groups[n-1].end:i])
				}
				groups = append(groups, g)
				cur = &groups[len(groups)-1]
			}
			cur.digits += string(rune(d))
			cur.end = i + utf8.RuneLen(r)
			continue
		}
		cur = nil
	}
	return groups
}

// isNumberSeparator: up to 3 spaces and dashes, at most one dash.
func isNumberSeparator(sep string) bool {
	n, dashes := 0, 0
	for _, r := range sep {
		n++
		switch {
		case isDash(r):
			dashes++
		case isSpace(r):
		default:
			return false
		}
	}
	return n > 0 && n <= 3 && dashes <= 1
}

func isDash(r rune) bool {
	switch r {
	case '-', '‐', '‑', '‒', '–', '—', '―', '−', '－', '﹣':
		return true
	}
	return false
}

func joinDigits(gs []digitGroup) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(g.digits)
	}
	return b.String()
}

// matchNumber finds the longest personal number starting at group i: the
// index of its last group and its mask, or nil.
func matchNumber(s string, groups []digitGroup, i int) (int, func(string) string) {
	before := s[:groups[i].start]
	resKey, cardKey := keywordBefore(before, residentKeywords), keywordBefore(before, cardKeywords)
	bestEnd, best := -1, (func(string) string)(nil)
	n := 0
	for j := i; j < len(groups); j++ {
		if j > i && !groups[j].joined {
			break
		}
		n += len(groups[j].digits)
		if n > 19 {
			break
		}
		digits := joinDigits(groups[i : j+1])
		bare := j == i
		switch {
		case isCardNumber(digits, bare, cardKey):
			bestEnd, best = j, MaskCardNumber
		case isResidentNumber(digits, bare, resKey):
			bestEnd, best = j, MaskResidentNumber
		}
	}
	return bestEnd, best
}

func isResidentNumber(d string, bare, keyword bool) bool {
	if len(d) != 13 || !validYYMMDD(d[:6]) {
		return false
	}
	if bare && !keyword && validEAN13(d) && !validResidentCheck(d) {
		return false // a bar code (8801234567890) printed in an item name
	}
	return true
}

func isCardNumber(d string, bare, keyword bool) bool {
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	if keyword {
		return true
	}
	if !luhn(d) || !strings.ContainsRune("234569", rune(d[0])) || (len(d) == 13 && d[0] != '4') {
		return false
	}
	return !(bare && len(d) == 13 && validEAN13(d))
}

func validYYMMDD(d string) bool {
	m := int(d[2]-'0')*10 + int(d[3]-'0')
	day := int(d[4]-'0')*10 + int(d[5]-'0')
	return m >= 1 && m <= 12 && day >= 1 && day <= 31
}

// validResidentCheck: the check digit of resident numbers issued before
// October 2020 (later ones have none, so failing it proves nothing alone).
func validResidentCheck(d string) bool {
	w := []int{2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5}
	sum := 0
	for i, x := range w {
		sum += int(d[i]-'0') * x
	}
	return (11-sum%11)%10 == int(d[12]-'0')
}

func validEAN13(d string) bool {
	sum := 0
	for i := 0; i < 12; i++ {
		x := int(d[i] - '0')
		if i%2 == 1 {
			x *= 3
		}
		sum += x
	}
	return (10-sum%10)%10 == int(d[12]-'0')
}

func luhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		x := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if x *= 2; x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

var (
	residentKeywords = []string{"주민", "외국인", "등록번호", "생년", "rrn", "resident"}
	cardKeywords     = []string{"카드", "card"}
)

// keywordBefore reports whether one of kws ends within the 12 runes before
// a number ("주민등록번호: 8001011234567", "카드번호 5307...").
func keywordBefore(before string, kws []string) bool {
	r := []rune(before)
	if len(r) > 12 {
		r = r[len(r)-12:]
	}
	tail := strings.ToLower(string(r))
	for _, k := range kws {
		if strings.Contains(tail, k) {
			return true
		}
	}
	return false
}
