package clovaemu

import (
	"fmt"
	"strings"
)

// mrzCheckDigit is the ICAO 9303 check digit: weights 7,3,1 repeating over
// the character values (0-9 digits, A-Z 10-35, '<' 0), sum mod 10.
func mrzCheckDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		v := 0
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10)
}

// td3 is a passport's machine readable zone (ICAO 9303 part 4, TD3: two
// lines of 44 characters).
type td3 struct {
	DocumentCode   string // "P" plus a type letter or '<', e.g. "PM"
	IssuingState   string // "KOR"
	Surname        string
	GivenNames     string
	DocumentNumber string // up to 9 characters
	Nationality    string
	BirthDate      string // YYMMDD
	Sex            string // "M", "F" or "<"
	ExpiryDate     string // YYMMDD
	PersonalNumber string // up to 14 characters
}

// mrzField pads s with '<' to n characters, turning spaces into '<'.
func mrzField(s string, n int) string {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", "<"))
	if len(s) > n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

// Lines renders the two lines with every check digit computed.
func (m td3) Lines() (line1, line2 string) {
	line1 = mrzField(m.DocumentCode, 2) + mrzField(m.IssuingState, 3) +
		mrzField(m.Surname+"<<"+m.GivenNames, 39)
	doc := mrzField(m.DocumentNumber, 9)
	personal := mrzField(m.PersonalNumber, 14)
	docPart := doc + string(mrzCheckDigit(doc))
	birthPart := m.BirthDate + string(mrzCheckDigit(m.BirthDate))
	expiryPart := m.ExpiryDate + string(mrzCheckDigit(m.ExpiryDate))
	personalPart := personal + string(mrzCheckDigit(personal))
	final := mrzCheckDigit(docPart + birthPart + expiryPart + personalPart)
	line2 = docPart + mrzField(m.Nationality, 3) + birthPart + mrzField(m.Sex, 1) + expiryPart + personalPart + string(final)
	if len(line1) != 44 || len(line2) != 44 {
		panic(fmt.Sprintf("clovaemu: TD3 lines of %d and %d characters", len(line1), len(line2)))
	}
	return line1, line2
}
