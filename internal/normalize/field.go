package normalize

import (
	"math"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// Box is one polygon in image pixels, as result.Field.Boxes holds them.
type Box = [][2]float64

// NewField builds a Field from what a vendor read. value is the normalized
// value (nil when normalizing failed); confidence outside 0..1 or NaN is
// dropped rather than stored as a lie; empty boxes are omitted.
func NewField(text string, value any, confidence *float64, boxes []Box) *result.Field {
	f := &result.Field{Text: text, Value: value}
	if confidence != nil && !math.IsNaN(*confidence) && *confidence >= 0 && *confidence <= 1 {
		c := *confidence
		f.Confidence = &c
	}
	for _, b := range boxes {
		if len(b) > 0 {
			f.Boxes = append(f.Boxes, b)
		}
	}
	return f
}

// Confidence returns a pointer to c, for NewField.
func Confidence(c float64) *float64 { return &c }

// StringValue is the value of a plain text field: the text itself, nil when
// empty.
func StringValue(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// OrNil turns a parser's (value, ok) into a Field value: nil when !ok.
func OrNil(v string, ok bool) any {
	if !ok {
		return nil
	}
	return v
}

// MaskField masks a field's text and string value with mask, in place. A
// nil field is left alone.
func MaskField(f *result.Field, mask func(string) string) {
	if f == nil {
		return
	}
	f.Text = mask(f.Text)
	if s, ok := f.Value.(string); ok {
		f.Value = mask(s)
	}
}
