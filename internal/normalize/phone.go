package normalize

import "strings"

// Phone turns a printed phone number into digits with an optional leading
// "+": "(031)786-1171" -> "0317861171", "+82 10-1234-5678" -> "+821012345678".
// Fewer than 7 or more than 15 digits (E.164's maximum) is not a phone
// number.
func Phone(text string) (string, bool) {
	d := Digits(text)
	if len(d) < 7 || len(d) > 15 {
		return "", false
	}
	if strings.HasPrefix(strings.TrimSpace(text), "+") {
		return "+" + d, true
	}
	return d, true
}

// BizNumber formats a Korean business registration number as NNN-NN-NNNNN.
// It needs exactly 10 digits; the checksum digit is not enforced because
// OCR output is often right where the check fails (old numbers, test data),
// and a wrong value is still better shown than dropped.
func BizNumber(text string) (string, bool) {
	d := Digits(text)
	if len(d) != 10 {
		return "", false
	}
	return d[:3] + "-" + d[3:5] + "-" + d[5:], true
}

// ValidThru turns a card's expiry into "MM/YY": "12/25", "1225",
// "12/2025", "12 / 25".
func ValidThru(text string) (string, bool) {
	g := digitGroups(text)
	var mm, yy string
	switch {
	case len(g) == 2 && len(g[0]) <= 2 && (len(g[1]) == 2 || len(g[1]) == 4):
		mm, yy = g[0], g[1][len(g[1])-2:]
	case len(g) == 1 && len(g[0]) == 4:
		mm, yy = g[0][:2], g[0][2:]
	case len(g) == 1 && len(g[0]) == 6: // MMYYYY
		mm, yy = g[0][:2], g[0][4:]
	default:
		return "", false
	}
	if len(mm) == 1 {
		mm = "0" + mm
	}
	if mm < "01" || mm > "12" {
		return "", false
	}
	return mm + "/" + yy, true
}
