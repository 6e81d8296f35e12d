package normalize

import (
	"regexp"
	"strings"
)

// Masking of personal numbers (result-v1 "Personal data"). Each Mask*
// function takes text as a vendor read it, possibly already partly masked
// by the vendor ("800***-234****"), and never reveals more than it got: a
// character is shown only if it is in a position the rule keeps, and '*'
// from the vendor stays '*'. The masked form is used for both a Field's
// value and its text.

// maskable keeps the characters that carry the number: digits, letters and
// the vendor's own '*' masks. Spaces and separators are layout.
func maskable(s string) []rune {
	var out []rune
	for _, r := range s {
		if d, ok := asciiDigit(r); ok {
			out = append(out, rune(d))
			continue
		}
		if r == '*' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') {
			out = append(out, r)
		}
	}
	return out
}

func stars(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("*", n)
}

// MaskResidentNumber masks a resident or alien registration number the way
// Korean vendors do: the birth date (6 digits), a dash and the first digit
// of the back part (sex/century, or for aliens the registration class) stay;
// the rest is '*': "800101-1234567" -> "800101-1******". Anything that is not
// 13 characters long is masked whole except its first 6 characters, so a
// misread number never leaks its back part.
func MaskResidentNumber(s string) string {
	c := maskable(s)
	if len(c) == 0 {
		return stars(len([]rune(strings.TrimSpace(s))))
	}
	if len(c) == 13 {
		return string(c[:6]) + "-" + string(c[6:7]) + stars(6)
	}
	keep := min(6, len(c)/2)
	return string(c[:keep]) + stars(len(c)-keep)
}

// MaskCardNumber masks a payment card number: the first 6 digits (the
// issuer, BIN) and the last 4 stay, grouped in fours: "5307123456789012" ->
// "5307-12**-****-9012" (PCI DSS allows at most these 10 digits). Short
// texts (receipts print already-masked fragments such as "4221**8666") keep
// at most 4 characters at each end and at least 2 masked in the middle.
func MaskCardNumber(s string) string {
	c := maskable(s)
	n := len(c)
	if n >= 13 {
		m := []rune(string(c[:6]) + stars(n-10) + string(c[n-4:]))
		var b strings.Builder
		for i, r := range m {
			if i > 0 && i%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	// Shorter than a card number: at most half of it shows, split between
	// the ends (the back at most 4, the front at most 6).
	shown := n / 2
	back := min(4, shown/2)
	front := min(6, shown-back)
	return string(c[:front]) + stars(n-front-back) + string(c[n-back:])
}

// MaskLicenseNumber masks a Korean driver's license number: the region and
// year-of-issue parts stay, the 6-digit serial (which identifies the holder)
// is masked, the 2-digit check part stays: "11-17-174133-01" ->
// "11-17-******-01". Old licences print the region in Korean
// ("서울 17-174133-01" -> "서울-17-******-01"). Text around the number
// (a resident number read along with it) is scrubbed as free text
// (ScrubText). Other layouts keep only the first 4 characters.
func MaskLicenseNumber(s string) string {
	// The pattern counts only when no digit touches it: inside a longer run
	// (a resident number followed by more digits, seen by the fuzzer) its
	// "region" and "check" would keep digits of another number in the clear.
	if m := licenseNumber.FindStringSubmatchIndex(s); m != nil && !digitAt(s, m[0]-1) && !digitAt(s, m[1]) {
		region, year, check := s[m[2]:m[3]], s[m[4]:m[5]], s[m[8]:m[9]]
		return ScrubText(s[:m[0]]) + region + "-" + year + "-" + stars(6) + "-" + check + ScrubText(s[m[1]:])
	}
	c := maskable(s)
	keep := min(4, len(c)/2)
	return string(c[:keep]) + stars(len(c)-keep)
}

// digitAt reports whether s has an ASCII digit at byte i.
func digitAt(s string, i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }

// licenseNumber: region (2 digits or a Korean name), year, serial (maybe
// masked already: masking a masked number changes nothing), check.
var licenseNumber = regexp.MustCompile(`(\d{2}|\p{Hangul}+)[- ]?(\d{2})[- ]?([\d*]{6})[- ]?(\d{2})`)

// MaskPassportNumber keeps the first 4 characters of a passport number and
// masks the rest: "M12345678" -> "M123*****". The leading letter tells the
// passport type, the next digits are shared by many holders; the last 5 are
// what identifies one person. Numbers of 6 characters or fewer keep only
// half.
func MaskPassportNumber(s string) string {
	c := maskable(s)
	keep := 4
	if len(c) <= 6 {
		keep = len(c) / 2
	}
	return strings.ToUpper(string(c[:keep])) + stars(len(c)-keep)
}

// MaskAll replaces every letter and digit with '*', keeping layout. For
// numbers no rule allows showing any part of (MRZ personal numbers).
func MaskAll(s string) string {
	return strings.Map(func(r rune) rune {
		if _, ok := asciiDigit(r); ok || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') {
			return '*'
		}
		return r
	}, s)
}

// MaskMRZ masks the personal parts of a TD3 passport MRZ text (lines joined
// by "\n"): the document number (as MaskPassportNumber) and the optional
// personal number with their check digits, and the composite check digit
// (which together with the rest could help recover them), and any digit in
// the first line. Text that is not two MRZ lines is masked whole.
func MaskMRZ(text string) string {
	l1, l2, ok := SplitMRZ(text)
	if !ok || len(l2) != 44 {
		return MaskAll(text)
	}
	num := []rune(l2[0:9])
	masked := []rune(MaskPassportNumber(string(num)))
	for i := range num {
		if num[i] != '<' && i < len(masked) {
			num[i] = masked[i]
		}
	}
	b := []byte(l2)
	copy(b[0:9], string(num))
	b[9] = '*'
	for i := 28; i < 44; i++ {
		if b[i] != '<' {
			b[i] = '*'
		}
	}
	return maskDigits(l1) + "\n" + string(b)
}

// maskDigits replaces every digit with '*'. An MRZ's first line holds the
// document code, the issuing state and the names: a digit there is a misread
// or something that does not belong, never safe to keep.
func maskDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if _, ok := asciiDigit(r); ok {
			return '*'
		}
		return r
	}, s)
}
