package ekyc

import (
	"math"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

func invalid(what string, err error) *ocrerr.Error {
	// A 200 whose body cannot be read is most often cut short in transit;
	// another attempt usually gets a whole answer.
	e := ocrerr.Transient(ocrerr.InvalidResponse, "eKYC answer unreadable: %s", what).WithVendor("", 200)
	if err != nil {
		e.Err = err
	}
	return e
}

// documentResponse normalizes a Document API answer.
func documentResponse(body []byte, req *vendors.Request) (*vendors.Response, error) {
	a, err := parseDocument(body)
	if err != nil {
		return nil, invalid("not a document answer", err)
	}
	img := a.Images[0]
	switch img.InferResult {
	case "SUCCESS":
	case "FAILURE", "ERROR":
		// The message is the vendor's; it is not copied, as it may quote
		// what was read.
		return nil, ocrerr.Permanent(ocrerr.RecognitionFailed, "eKYC could not read the document (inferResult %s)", img.InferResult).WithVendor(img.InferResult, 200)
	default:
		return nil, invalid("unknown inferResult", nil)
	}
	resp := &vendors.Response{UID: a.UID, Details: img.details()}
	if resp.UID == "" {
		resp.UID = img.UID
	}
	switch req.DocumentType {
	case result.TypeBizLicense:
		if img.BizLicense == nil || img.BizLicense.Result == nil {
			return nil, invalid("no bizLicense result", nil)
		}
		resp.Fields = bizLicenseFields(img.BizLicense.Result)
	case result.TypeIDCard:
		if img.IDCard == nil || img.IDCard.Result == nil {
			return nil, invalid("no idCard result", nil)
		}
		f, ok := idCardFields(img.IDCard.Result, req.PII)
		if !ok {
			return nil, ocrerr.Permanent(ocrerr.RecognitionFailed, "eKYC found no known ID on the image").WithVendor("", 200)
		}
		resp.Fields = f
	}
	return withRaw(resp, body, req)
}

// compareResponse normalizes a Face Compare answer.
//
// faces[] is one list for both images; the emulator (and, as far as the
// page shows, the vendor) lists the card's face first. A SUCCESS answer
// compared a face from each image, so the card is counted one face and the
// face photo the rest. An ERROR answer whose message says which image had no
// face ("Face not detected: faceImage") is a real outcome, not a failure:
// no match, that image counted 0. Any other ERROR is RecognitionFailed.
func (c *Client) compareResponse(body []byte, req *vendors.Request) (*vendors.Response, error) {
	a, err := parseCompare(body)
	if err != nil {
		return nil, invalid("not a face compare answer", err)
	}
	fc := &result.FaceCompare{}
	switch a.Result {
	case "SUCCESS":
		sim, ok := similarity(a)
		if !ok {
			return nil, invalid("similarity missing or out of 0..1", nil)
		}
		fc.Similarity, fc.Match = sim, sim >= c.threshold
		if n := len(a.Faces); n > 0 {
			fc.Faces = result.FaceCount{Card: 1, Face: n - 1}
		}
	case "ERROR":
		card, face, ok := noFace(a.Message)
		if !ok {
			return nil, ocrerr.Permanent(ocrerr.RecognitionFailed, "eKYC could not compare the faces (result ERROR)").WithVendor("ERROR", 200)
		}
		n := len(a.Faces)
		switch {
		case card && face:
		case card:
			fc.Faces.Face = n
		case face:
			fc.Faces.Card = n
		}
	default:
		return nil, invalid("unknown result", nil)
	}
	resp := &vendors.Response{UID: a.UID, Fields: fc}
	return withRaw(resp, body, req)
}

func similarity(a *compareAnswer) (float64, bool) {
	var s float64
	switch {
	case a.Similarity != nil:
		s = *a.Similarity
	case a.SimilarityPercentage != nil:
		s = *a.SimilarityPercentage / 100
	default:
		return 0, false
	}
	if math.IsNaN(s) || s < 0 || s > 1 {
		return 0, false
	}
	return s, true
}

// noFace reads which images an ERROR answer says had no face.
func noFace(msg string) (card, face, ok bool) {
	const prefix = "face not detected"
	m := strings.ToLower(msg)
	if !strings.HasPrefix(m, prefix) {
		return false, false, false
	}
	card, face = strings.Contains(m, "cardimage"), strings.Contains(m, "faceimage")
	return card, face, card || face
}

// field builds a Field from a field's first text block; value computes the
// normalized value from the text (nil: keep the text as the value).
func field(bs blocks, value func(tb textBlock) any) *result.Field {
	for _, tb := range bs {
		text := tb.Text
		if text == "" {
			text = tb.MaskingText
		}
		if text == "" {
			continue
		}
		var v any
		if value != nil {
			v = value(tb)
		} else {
			v = plain(tb)
		}
		return normalize.NewField(text, v, nil, boxes(tb))
	}
	return nil
}

// joined is one Field of every block's text joined by a space: addresses
// come as one block per printed line.
func joined(bs blocks) *result.Field {
	var texts []string
	var bx []normalize.Box
	for _, tb := range bs {
		if tb.Text != "" {
			texts = append(texts, tb.Text)
			bx = append(bx, boxes(tb)...)
		}
	}
	if len(texts) == 0 {
		return nil
	}
	t := strings.Join(texts, " ")
	return normalize.NewField(t, normalize.StringValue(t), nil, bx)
}

// list is one Field per block.
func list(bs blocks) []result.Field {
	var out []result.Field
	for _, tb := range bs {
		if f := field(blocks{tb}, nil); f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// plain is a text field's value: formatted.value where given, else text.
func plain(tb textBlock) any {
	if tb.Formatted != nil && tb.Formatted.Value != "" {
		return tb.Formatted.Value
	}
	return normalize.StringValue(strings.TrimSpace(tb.Text))
}

// date is a date field's value: formatted year/month/day where given, else
// the printed text parsed.
func date(tb textBlock) any {
	if f := tb.Formatted; f != nil && f.Year != "" {
		return normalize.OrNil(normalize.DateParts(f.Year, f.Month, f.Day))
	}
	return normalize.OrNil(normalize.Date(tb.Text))
}

func bizNumber(tb textBlock) any { return normalize.OrNil(normalize.BizNumber(tb.Text)) }

func boxes(tb textBlock) []normalize.Box {
	var out []normalize.Box
	for _, p := range tb.BoundingPolys {
		var b normalize.Box
		for _, v := range p.Vertices {
			b = append(b, [2]float64{v.X, v.Y})
		}
		if len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

func bizLicenseFields(r *bizLicenseResult) *result.BizLicense {
	return &result.BizLicense{
		DocumentType:       field(r.DocumentType, nil),
		RegisterNumber:     field(r.RegisterNumber, bizNumber),
		CompanyName:        field(r.CompanyName, nil),
		CorpName:           field(r.CorpName, nil),
		CorpRegisterNumber: field(r.CorpRegisterNum, nil),
		Representative:     field(r.RepName, nil),
		CoRepresentatives:  list(r.CoRepName),
		OpenDate:           field(r.OpenDate, date),
		IssuanceDate:       field(r.IssuanceDate, date),
		IssuanceReason:     field(r.IssuanceReason, nil),
		BusinessAddress:    joined(r.BisAddress),
		HeadAddress:        joined(r.HeadAddress),
		BusinessType:       list(r.BisType),
		BusinessItem:       list(r.BisItem),
		TaxType:            field(r.TaxType, nil),
		Area:               field(r.BisArea, nil),
	}
}

// masked is a personal-number field, masked with mask unless pii.
func masked(bs blocks, mask func(string) string, pii bool) *result.Field {
	f := field(bs, nil)
	if !pii {
		normalize.MaskField(f, mask)
	}
	return f
}

// idCardFields normalizes the one ID an idCard result holds; ok is false
// when it holds none the client knows.
func idCardFields(r *idCardResult, pii bool) (*result.IDCard, bool) {
	switch {
	case r.IC != nil:
		c := r.IC
		return &result.IDCard{IDType: result.IDResident,
			Name:           field(c.Name, nil),
			PersonalNumber: masked(c.PersonalNum, normalize.MaskResidentNumber, pii),
			Address:        joined(c.Address),
			IssueDate:      field(c.IssueDate, date),
			Issuer:         field(c.Authority, nil),
		}, true
	case r.DL != nil:
		c := r.DL
		return &result.IDCard{IDType: result.IDDriver,
			Name:           field(c.Name, nil),
			PersonalNumber: masked(c.PersonalNum, normalize.MaskResidentNumber, pii),
			Address:        joined(c.Address),
			IssueDate:      field(c.IssueDate, date),
			Issuer:         field(c.Authority, nil),
			LicenseNumber:  masked(c.Num, normalize.MaskLicenseNumber, pii),
			LicenseType:    field(c.Type, nil),
			Condition:      field(c.Condition, nil),
			SerialNumber:   field(c.Code, nil),
			RenewStart:     field(c.RenewStartDate, date),
			RenewEnd:       field(c.RenewEndDate, date),
		}, true
	case r.PP != nil:
		c := r.PP
		return &result.IDCard{IDType: result.IDPassport,
			PersonalNumber: masked(c.PersonalNum, normalize.MaskAll, pii),
			IssueDate:      field(c.IssueDate, date),
			Issuer:         field(c.Authority, nil),
			PassportNumber: masked(c.Num, normalize.MaskPassportNumber, pii),
			PassportType:   field(c.Type, nil),
			Surname:        field(c.SurName, nil),
			GivenName:      field(c.GivenName, nil),
			Nationality:    field(c.Nationality, nil),
			BirthDate:      field(c.BirthDate, date),
			Sex:            field(c.Sex, nil),
			ExpiryDate:     field(c.ExpireDate, date),
			KoreanName:     field(c.FullNameKor, nil),
		}, true
	case r.AC != nil:
		c := r.AC
		return &result.IDCard{IDType: result.IDAlien,
			Name:        field(c.Name, nil),
			Sex:         field(c.Sex, nil),
			IssueDate:   field(c.IssueDate, date),
			Issuer:      field(c.Authority, nil),
			AlienNumber: masked(c.AlienRegNum, normalize.MaskResidentNumber, pii),
			Nationality: field(c.Nationality, nil),
			VisaType:    field(c.VisaType, nil),
		}, true
	}
	return nil, false
}

// withRaw attaches the sanitized raw answer when the request keeps it.
func withRaw(resp *vendors.Response, body []byte, req *vendors.Request) (*vendors.Response, error) {
	if !req.KeepRaw {
		return resp, nil
	}
	raw, err := sanitizeRaw(body, req.PII)
	if err != nil {
		return nil, invalid("raw answer", err)
	}
	resp.Raw = raw
	return resp, nil
}
