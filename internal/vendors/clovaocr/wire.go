package clovaocr

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// Wire types of the CLOVA OCR answer. They are lenient on purpose: the
// published examples disagree with the field tables ("addresses" vs
// "address", "price" vs "priceInfo", "idtype" vs "IDType"), and encoding/json
// matches keys case-insensitively, so both spellings are read.

type answer struct {
	Images []answerImage `json:"images"`
}

type answerImage struct {
	UID            string                             `json:"uid"`
	InferResult    string                             `json:"inferResult"`
	Receipt        *struct{ Result receiptResult }    `json:"receipt"`
	CreditCard     *struct{ Result creditCardResult } `json:"creditCard"`
	NameCard       *struct{ Result nameCardResult }   `json:"nameCard"`
	BizLicense     *struct{ Result bizLicenseResult } `json:"bizLicense"`
	IDCard         *struct{ Result idCardResult }     `json:"idCard"`
	MedicalReceipt *medicalReceipt                    `json:"medicalReceipt"`
	Passport       *struct {
		PassportResult passportResult `json:"passportResult"`
	} `json:"passport"`
}

// flexString reads a JSON string, number, bool or null as text: vendors put
// numbers where the tables say string (MrzInt/Mrzbool refinedText).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		switch t := v.(type) {
		case float64:
			*f = flexString(strconv.FormatFloat(t, 'f', -1, 64))
		case bool:
			*f = flexString(strconv.FormatBool(t))
		default:
			*f = "" // objects and arrays carry no text
		}
	}
	return nil
}

// flexFloat reads a number or a numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	v, _ := strconv.ParseFloat(string(s), 64)
	*f = flexFloat(v)
	return nil
}

type vertex struct{ X, Y float64 }

type poly struct {
	Vertices []vertex `json:"vertices"`
}

// formatted is DateObject/TimeObject/TelObject/... "formatted"; a plain
// string is taken as its value.
type formatted struct {
	Value, Year, Month, Day, Hour, Minute, Second flexString
}

func (f *formatted) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '{' {
		return f.Value.UnmarshalJSON(b)
	}
	type plain formatted
	return json.Unmarshal(b, (*plain)(f))
}

// vobj is any CLOVA value object: BaseObject, StringObject, DateObject,
// TimeObject, TelObject, FloatObject and the credit-card "field object".
type vobj struct {
	Text            flexString `json:"text"`
	Formatted       formatted  `json:"formatted"`
	Confidence      *float64   `json:"confidence"`
	ConfidenceScore *float64   `json:"confidenceScore"` // 2026 id-card page
	BoundingPoly    *poly      `json:"boundingPoly"`
	BoundingPolys   []poly     `json:"boundingPolys"`
}

// refined is the vendor's refined value, or the text when it gave none.
func (o *vobj) refined() string {
	if o.Formatted.Value != "" {
		return string(o.Formatted.Value)
	}
	return string(o.Text)
}

// empty: the vendor returned the object but read nothing.
func (o *vobj) empty() bool { return o == nil || (o.Text == "" && o.Formatted.Value == "") }

func (o *vobj) confidence() *float64 {
	if o.Confidence != nil {
		return o.Confidence
	}
	// The 2026 id-card page answers confidenceScore 0.0 for every field: a
	// field it did not score, not one it doubts. Omit it (result-v1: "else
	// omitted") rather than store a false zero.
	if o.ConfidenceScore != nil && *o.ConfidenceScore > 0 {
		return o.ConfidenceScore
	}
	return nil
}

func (o *vobj) boxes() []normalize.Box {
	var out []normalize.Box
	add := func(p poly) {
		var b normalize.Box
		for _, v := range p.Vertices {
			b = append(b, [2]float64{v.X, v.Y})
		}
		out = append(out, b)
	}
	if o.BoundingPoly != nil {
		add(*o.BoundingPoly)
	}
	for _, p := range o.BoundingPolys {
		add(p)
	}
	return out
}

func (o *vobj) field(value any) *result.Field {
	return normalize.NewField(string(o.Text), value, o.confidence(), o.boxes())
}

// first is the first non-empty object of a list (CLOVA gives most fields as
// lists; result-v1 single fields take the first reading).
func first(list []vobj) *vobj {
	for i := range list {
		if !list[i].empty() {
			return &list[i]
		}
	}
	return nil
}
