package ekycemu

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

// Wire shapes of a successful document answer, as the eKYC Document API
// page shows them.

type vertex struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

type boundingPoly struct {
	Vertices []vertex `json:"vertices"`
}

// textBlock covers the page's TextBlock, FormattedText and FormattedDate:
// FormattedText adds formatted.value, FormattedDate formatted.year/month/day,
// and masked values add maskingPolys and maskingText.
type textBlock struct {
	Text          string            `json:"text"`
	Formatted     map[string]string `json:"formatted,omitempty"`
	BoundingPolys []boundingPoly    `json:"boundingPolys"`
	MaskingPolys  []boundingPoly    `json:"maskingPolys,omitempty"`
	MaskingText   string            `json:"maskingText,omitempty"`
}

type documentResponse struct {
	RequestID string          `json:"requestId"`
	Timestamp int64           `json:"timestamp"`
	UID       string          `json:"uid"`
	Images    []documentImage `json:"images"`
}

type documentImage struct {
	UID                 string      `json:"uid"`
	Name                string      `json:"name"`
	InferResult         string      `json:"inferResult"`
	Message             string      `json:"message"`
	BizLicense          *ocrResult  `json:"bizLicense,omitempty"`
	IDCard              *ocrResult  `json:"idCard,omitempty"`
	Face                *faceResult `json:"face,omitempty"`
	InferDetailType     string      `json:"inferDetailType,omitempty"`
	InferDetailResource string      `json:"inferDetailResource,omitempty"`
	IsGrayScale         *bool       `json:"isGrayScale,omitempty"`
}

type ocrResult struct {
	Meta   map[string]string `json:"meta"`
	Result map[string]any    `json:"result"`
}

// faceResult is the "face" object of an id-card answer.
type faceResult struct {
	Result  string `json:"result"`
	Message string `json:"message"`
	Faces   []face `json:"faces"`
	Count   int    `json:"count"`
}

type face struct {
	BoundingPoly boundingPoly `json:"boundingPoly"`
	BoundingBox  []vertex     `json:"boundingBox,omitempty"`
	Confidence   float64      `json:"confidence"`
	Landmark     []landmark   `json:"landmark"`
	AlignedImage string       `json:"alignedImage"`
	Attributes   attributes   `json:"attributes"`
	Feature      []float64    `json:"feature"`
}

type landmark struct {
	Type     string     `json:"type"`
	Position [2]float64 `json:"position"`
}

type attributes struct {
	EulerAngle eulerAngle `json:"eulerAngle"`
}

type eulerAngle struct {
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
	Yaw   float64 `json:"yaw"`
	Pose  string  `json:"pose"`
}

// layout hands out a box per field, top to bottom, so every value has
// plausible pixel coordinates.
type layout struct{ row int }

func (l *layout) box() boundingPoly {
	y := 120 + 40*float64(l.row)
	l.row++
	return boundingPoly{Vertices: []vertex{{227, y}, {684, y}, {684, y + 22}, {227, y + 22}}}
}

func (l *layout) text(s string) []textBlock {
	return []textBlock{{Text: s, BoundingPolys: []boundingPoly{l.box()}}}
}

func (l *layout) formatted(s string) []textBlock {
	return []textBlock{{Text: s, Formatted: map[string]string{"value": s}, BoundingPolys: []boundingPoly{l.box()}, MaskingPolys: []boundingPoly{}}}
}

// masked is a FormattedText whose text is whole and whose maskingText hides
// what the vendor hides, as the id-card example shows ("111111-*******").
func (l *layout) masked(s, maskingText string) []textBlock {
	b := l.box()
	return []textBlock{{Text: s, Formatted: map[string]string{"value": s}, BoundingPolys: []boundingPoly{b},
		MaskingPolys: []boundingPoly{b}, MaskingText: maskingText}}
}

// date is a FormattedDate written the way Korean cards print dates
// ("2012. 6. 1."); maskedAll hides it whole, as the id-card page says
// issue dates are.
func (l *layout) date(d emulator.Date, maskedAll bool) []textBlock {
	text := fmt.Sprintf("%d. %d. %d.", d.Year, d.Month, d.Day)
	tb := textBlock{Text: text, BoundingPolys: []boundingPoly{l.box()},
		Formatted: map[string]string{"year": fmt.Sprintf("%04d", d.Year), "month": fmt.Sprintf("%02d", d.Month), "day": fmt.Sprintf("%02d", d.Day)}}
	if maskedAll {
		tb.MaskingPolys, tb.MaskingText = tb.BoundingPolys, strings.Repeat("*", len(text))
	}
	return []textBlock{tb}
}

// koreanDate is how a business license prints a date: "2019년 11월 01일".
func koreanDate(d emulator.Date) string {
	return fmt.Sprintf("%04d년 %02d월 %02d일", d.Year, d.Month, d.Day)
}

// maskBack hides the 7 digits after the hyphen of a registration number,
// as eKYC's maskingText does.
func maskBack(n string) string {
	i := strings.IndexByte(n, '-')
	if i < 0 {
		return strings.Repeat("*", len(n))
	}
	return n[:i+1] + strings.Repeat("*", len(n)-i-1)
}

// maskLicense hides the last 8 digits of a driver's license number, keeping
// its hyphens: "11-17-174133-01" -> "11-17-******-**".
func maskLicense(n string) string {
	b := []byte(n)
	left := 8
	for i := len(b) - 1; i >= 0 && left > 0; i-- {
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = '*'
			left--
		}
	}
	return string(b)
}

// pick draws a small number from the image hash, independent of the draws
// Derive makes (it re-hashes with a label).
func pick(d emulator.Doc, label string, n int) int {
	s := sha256.Sum256([]byte(label + d.SHA256))
	return int(binary.BigEndian.Uint32(s[:4]) % uint32(n))
}

// isGrayScale: about one image in five is a black-and-white copy.
func isGrayScale(d emulator.Doc) *bool {
	v := pick(d, "gray", 5) == 0
	return &v
}

// Business license kinds: inferDetailType / inferDetailResource.
const (
	bizCorp = "BL_CORP"
	bizSole = "BL_SOLE"
)

// bizLicenseKind says whether an image shows a corporation's or a sole
// proprietor's license.
func bizLicenseKind(d emulator.Doc) string {
	if d.Corporate {
		return bizCorp
	}
	return bizSole
}

// renderBizLicense is the bizLicense object for the document d shows.
func renderBizLicense(d emulator.Doc) (*ocrResult, string, string) {
	l := &layout{}
	kind := bizLicenseKind(d)
	res := map[string]any{
		"documentType":   l.formatted("사업자등록증"),
		"registerNumber": l.text(d.BizNumber),
		"companyName":    l.text(d.CompanyName),
		"repName":        l.text(d.Name),
		"openDate":       l.text(koreanDate(d.OpenDate)),
		"bisAddress":     l.text(d.Address),
		"bisType":        l.text(d.BusinessType),
		"bisItem":        l.text(d.BusinessItem),
	}
	res["taxType"] = l.text(d.TaxType)
	resource := "bl-sole"
	if kind == bizCorp {
		resource = "bl-corp"
	}
	return &ocrResult{Meta: map[string]string{"estimatedLanguage": "ko"}, Result: res}, kind, resource
}

// Markers that make the id-card endpoint show an ID other than a resident
// registration card (the default, which is what the conformance suite
// expects for any image).
var (
	MarkerDriverLicense = []byte("EKYC:DL")
	MarkerPassport      = []byte("EKYC:PP")
	MarkerAlienCard     = []byte("EKYC:AC")
)

type idKind struct{ key, detailType, idtype string }

var (
	kindResident = idKind{"ic", "IC", "ID Card"}
	kindDriver   = idKind{"dl", "DL", "Driver's License"}
	kindPassport = idKind{"pp", "PP", "Passport"}
	kindAlien    = idKind{"ac", "AC", "Alien Registration Card"}
)

// idKindOf is which ID an image shows.
func idKindOf(image []byte) idKind {
	switch {
	case bytes.Contains(image, MarkerDriverLicense):
		return kindDriver
	case bytes.Contains(image, MarkerPassport):
		return kindPassport
	case bytes.Contains(image, MarkerAlienCard):
		return kindAlien
	}
	return kindResident
}

var nationalities = []string{"VIETNAM", "CHINA", "PHILIPPINES", "UZBEKISTAN", "NEPAL"}
var visaTypes = []string{"E-9", "F-4", "D-2", "H-2", "F-6"}

// alienNumber is the alien registration number d shows: a resident-style
// number whose gender digit is 5 (M) or 6 (F).
func alienNumber(d emulator.Doc) string {
	b := []byte(d.PersonalNumber)
	if d.Sex == "M" {
		b[7] = '5'
	} else {
		b[7] = '6'
	}
	return string(b)
}

// renderIDCard is the idCard object for the document d shows.
func renderIDCard(d emulator.Doc, k idKind) (*ocrResult, string, string) {
	l := &layout{}
	var card map[string]any
	switch k.key {
	case "ic":
		card = map[string]any{
			"name":        l.formatted(d.Name),
			"personalNum": l.masked(d.PersonalNumber, maskBack(d.PersonalNumber)),
			"address":     l.formatted(d.Address),
			"issueDate":   l.date(d.IssueDate, true),
			"authority":   l.formatted(d.Issuer),
		}
	case "dl":
		card = map[string]any{
			"type":           l.text(d.LicenseType)[0],
			"num":            l.masked(d.LicenseNumber, maskLicense(d.LicenseNumber)),
			"name":           l.formatted(d.Name),
			"personalNum":    l.masked(d.PersonalNumber, maskBack(d.PersonalNumber)),
			"address":        l.formatted(d.Address),
			"renewStartDate": l.date(d.RenewStart, false),
			"renewEndDate":   l.date(d.RenewEnd, false),
			"condition":      l.formatted("A"),
			"code":           l.formatted(d.SerialNumber),
			"issueDate":      l.date(d.IssueDate, true),
			"authority":      l.formatted("서울특별시경찰청장"),
		}
	case "pp":
		sex := d.Sex
		card = map[string]any{
			"type":         l.formatted("PM"),
			"issueCountry": l.text("KOR")[0],
			"num":          l.masked(d.PassportNumber, strings.Repeat("*", len(d.PassportNumber))),
			"surName":      l.formatted(d.Surname),
			"givenName":    l.formatted(d.GivenName),
			"nationality":  l.formatted("REPUBLIC OF KOREA"),
			"birthDate":    l.date(d.BirthDate, false),
			"personalNum":  l.masked(d.PersonalNumber, strings.Repeat("*", len(d.PersonalNumber))),
			"sex":          l.formatted(sex),
			"issueDate":    l.date(d.IssueDate, false),
			"expireDate":   l.date(d.ExpiryDate, false),
			"authority":    l.text("MINISTRY OF FOREIGN AFFAIRS")[0],
			"fullNameKor":  l.formatted(d.Name),
		}
	case "ac":
		n := alienNumber(d)
		card = map[string]any{
			"alienRegNum": l.masked(n, maskBack(n)),
			"sex":         l.formatted(d.Sex),
			"name":        l.formatted(d.NameEnglish),
			"nationality": l.formatted(nationalities[pick(d, "nationality", len(nationalities))]),
			"visaType":    l.formatted(visaTypes[pick(d, "visa", len(visaTypes))]),
			"issueDate":   l.date(d.IssueDate, true),
			"authority":   l.formatted("서울출입국·외국인청장"),
		}
	}
	res := map[string]any{
		"isConfident": true,
		k.key:         card,
		"rois":        []boundingPoly{{Vertices: []vertex{{-28.77, 6.70}, {756.81, -29.43}, {749.05, 466.90}, {8.25, 480.47}}}},
		"idtype":      k.idtype,
	}
	return &ocrResult{Meta: map[string]string{"estimatedLanguage": "ko"}, Result: res}, k.detailType, k.key
}

// landmarkTypes are the page's landmark types.
var landmarkTypes = []string{"CHIN", "LEFT_EYEBROW", "RIGHT_EYEBROW", "BRIDGE_OF_NOSE", "NOSE",
	"LEFT_EYE", "RIGHT_EYE", "LIBS", "MOUTH", "LEFT_PUPIL", "RIGHT_PUPIL"}

// renderFace is one detected face, with the 512-dimension feature vector and
// aligned image the vendor sends (which clients must never keep). seed
// varies the geometry between images.
func renderFace(seed string, x0 float64) face {
	s := sha256.Sum256([]byte("face" + seed))
	v := float64(s[0]) / 255
	f := face{
		BoundingPoly: boundingPoly{Vertices: []vertex{{x0, 60}, {x0 + 80, 60}, {x0 + 80, 163}, {x0, 163}}},
		BoundingBox:  []vertex{{x0, 60}, {x0 + 80, 163}},
		Confidence:   0.99 + v/100,
		AlignedImage: "aGVsbG8gZmFjZQ==",
		Attributes:   attributes{EulerAngle: eulerAngle{Pitch: -5.4 + v, Roll: 1.08, Yaw: -1.54, Pose: "front"}},
	}
	for i, t := range landmarkTypes {
		f.Landmark = append(f.Landmark, landmark{Type: t, Position: [2]float64{x0 + float64(5*i), 90 + float64(3*i)}})
	}
	f.Feature = make([]float64, 512)
	for i := range f.Feature {
		f.Feature[i] = math.Round(math.Sin(float64(i)+v)*1e6) / 1e7
	}
	return f
}
