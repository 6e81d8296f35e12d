package clovaocr

import (
	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// Builders from a vendor object to a result.Field. Each returns nil for a
// missing or empty object (result-v1: a field not found is omitted). When a
// value cannot be normalized it is nil and the text keeps what was read.

func strField(o *vobj) *result.Field {
	if o.empty() {
		return nil
	}
	return o.field(normalize.StringValue(o.refined()))
}

func dateField(o *vobj) *result.Field {
	if o == nil || (o.empty() && o.Formatted.Year == "") {
		return nil
	}
	v, ok := normalize.DateParts(string(o.Formatted.Year), string(o.Formatted.Month), string(o.Formatted.Day))
	if !ok {
		v, ok = normalize.Date(string(o.Text))
	}
	return o.field(normalize.OrNil(v, ok))
}

func timeField(o *vobj) *result.Field {
	if o == nil || (o.empty() && o.Formatted.Hour == "") {
		return nil
	}
	v, ok := normalize.TimeParts(string(o.Formatted.Hour), string(o.Formatted.Minute), string(o.Formatted.Second))
	if !ok {
		v, ok = normalize.Time(string(o.Text))
	}
	return o.field(normalize.OrNil(v, ok))
}

func numField(o *vobj) *result.Field {
	if o.empty() {
		return nil
	}
	v := normalize.NumberValue(o.refined())
	if v == nil {
		v = normalize.NumberValue(string(o.Text))
	}
	return o.field(v)
}

func phoneField(o *vobj) *result.Field {
	if o.empty() {
		return nil
	}
	v, ok := normalize.Phone(o.refined())
	if !ok {
		v, ok = normalize.Phone(string(o.Text))
	}
	return o.field(normalize.OrNil(v, ok))
}

func bizNumField(o *vobj) *result.Field {
	if o.empty() {
		return nil
	}
	v, ok := normalize.BizNumber(o.refined())
	return o.field(normalize.OrNil(v, ok))
}

// list applies build to every non-empty object.
func list(objs []vobj, build func(*vobj) *result.Field) []result.Field {
	var out []result.Field
	for i := range objs {
		if f := build(&objs[i]); f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// masker masks personal numbers unless the request keeps them whole.
type masker struct{ pii bool }

// personal builds a field holding a personal number: its value is the
// refined number (vendors format it), and unless PII both value and text
// are masked by mask.
func (m masker) personal(o *vobj, mask func(string) string) *result.Field {
	f := strField(o)
	if f != nil && !m.pii {
		normalize.MaskField(f, mask)
	}
	return f
}
