package nhn

import (
	"strconv"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// Normalization of decrypted NHN answers into result-v1 fields. Personal
// numbers are masked unless pii (result-v1 "Personal data").

func (a *creditCardAnswer) fields(pii bool) *result.CreditCard {
	out := &result.CreditCard{}
	groups := make([]string, 0, len(a.CardNums))
	var conf *float64
	for _, g := range a.CardNums {
		groups = append(groups, g.Value)
		if g.Conf != nil && (conf == nil || *g.Conf < *conf) {
			conf = g.Conf // a number is only as sure as its least sure group
		}
	}
	text := strings.Join(groups, " ")
	// The groups carry the confidences and boxes, so they win over
	// totalCardNum when both are there (the seed's own example pairs four
	// 4-digit groups with a 15-digit totalCardNum).
	digits := normalize.Digits(text)
	if len(digits) < 13 {
		digits = normalize.Digits(string(a.TotalCardNum))
	}
	if text == "" {
		text = string(a.TotalCardNum)
	}
	if text != "" {
		var value any
		if len(digits) >= 13 && len(digits) <= 19 {
			value = digits
		}
		var boxes []normalize.Box
		for i := range a.CardNumBoxes {
			boxes = append(boxes, a.CardNumBoxes[i].polygon())
		}
		out.Number = normalize.NewField(text, value, conf, boxes)
		if !pii {
			normalize.MaskField(out.Number, normalize.MaskCardNumber)
		}
	}
	if v := a.ValidThru; v != nil && v.Value != "" {
		out.ValidThru = normalize.NewField(v.Value, normalize.OrNil(validThru(v.Value)), v.Conf,
			[]normalize.Box{a.ValidThruBox.polygon()})
	}
	return out
}

// validThru normalizes an expiry to "MM/YY" ("04/19", "0419", "04/2019").
func validThru(s string) (string, bool) {
	d := normalize.Digits(s)
	if len(d) == 6 {
		d = d[:2] + d[4:]
	}
	if len(d) != 4 {
		return "", false
	}
	if m, _ := strconv.Atoi(d[:2]); m < 1 || m > 12 {
		return "", false
	}
	return d[:2] + "/" + d[2:], true
}

// raw is the answer as stored for keepRaw: decrypted, masked unless pii.
func (a *creditCardAnswer) raw(pii bool) *creditCardAnswer {
	c := *a
	if pii {
		return &c
	}
	c.CardNums = append([]confValue(nil), a.CardNums...)
	// Mask the groups as one number, so each group shows what the whole may.
	var joined string
	for _, g := range c.CardNums {
		joined += g.Value
	}
	masked := strings.ReplaceAll(normalize.MaskCardNumber(joined), "-", "")
	if len(masked) == len(joined) {
		off := 0
		for i, g := range c.CardNums {
			c.CardNums[i].Value = masked[off : off+len(g.Value)]
			off += len(g.Value)
		}
	} else {
		for i := range c.CardNums {
			c.CardNums[i].Value = normalize.MaskAll(c.CardNums[i].Value)
		}
	}
	c.TotalCardNum = stringOrList(normalize.MaskCardNumber(string(a.TotalCardNum)))
	return &c
}

// idKeys indexes keyValues by case-folded key (the first of a repeated key
// wins): "PersonalNo" is read, and masked, as "personalNo".
type idKeys map[string]keyValue

func (k idKeys) get(key string) keyValue { return k[strings.ToLower(key)] }

func (a *idCardAnswer) keys() idKeys {
	m := idKeys{}
	for _, kv := range a.KeyValues {
		if _, dup := m[strings.ToLower(kv.Key)]; !dup {
			m[strings.ToLower(kv.Key)] = kv
		}
	}
	return m
}

// text is the recognized text of key; "none" is NHN's word for an absent
// driver's licence condition.
func (k idKeys) text(key string) string {
	v := strings.TrimSpace(k.get(key).Value)
	if strings.EqualFold(v, "none") {
		return ""
	}
	return v
}

// field builds a Field whose value is normalized by norm (nil norm: the
// text itself). A key not recognized gives nil: result-v1 omits it.
func (k idKeys) field(key string, norm func(string) (string, bool)) *result.Field {
	text := k.text(key)
	if text == "" {
		return nil
	}
	kv := k.get(key)
	var value any = text
	if norm != nil {
		value = normalize.OrNil(norm(text))
	}
	var boxes []normalize.Box
	if p := kv.BBox.polygon(); p != nil {
		boxes = append(boxes, p)
	}
	return normalize.NewField(text, value, kv.Conf, boxes)
}

// dateField is a date whose value may come from a separate YYYYMMDD key
// (passport dateOfBirth + dateOfBirthYMD).
func (k idKeys) dateField(key, ymdKey string) *result.Field {
	f := k.field(key, normalize.Date)
	if ymdKey == "" {
		return f
	}
	ymd, ok := normalize.Date(k.text(ymdKey))
	switch {
	case f == nil && ok:
		return k.field(ymdKey, normalize.Date)
	case f != nil && ok:
		f.Value = ymd
	}
	return f
}

// residentNumber formats 13 digits as "YYMMDD-NNNNNNN".
func residentNumber(s string) (string, bool) {
	d := normalize.Digits(s)
	if len(d) != 13 {
		return "", false
	}
	return d[:6] + "-" + d[6:], true
}

// licenseNumber formats 12 digits as "RR-YY-NNNNNN-CC".
func licenseNumber(s string) (string, bool) {
	d := normalize.Digits(s)
	if len(d) != 12 {
		return "", false
	}
	return d[:2] + "-" + d[2:4] + "-" + d[4:10] + "-" + d[10:], true
}

func passportNumber(s string) (string, bool) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	return s, s != ""
}

func (a *idCardAnswer) fields(pii bool) *result.IDCard {
	k := a.keys()
	out := &result.IDCard{IDType: a.IDType}
	switch a.IDType {
	case result.IDPassport:
		out.PassportType = k.field("passportType", nil)
		out.PassportNumber = k.field("passportNo", passportNumber)
		out.Surname = k.field("surName", nil)
		out.GivenName = k.field("givenName", nil)
		out.Nationality = k.field("nationality", nil)
		out.BirthDate = k.dateField("dateOfBirth", "dateOfBirthYMD")
		out.Sex = k.field("sex", nil)
		out.IssueDate = k.dateField("dateOfIssue", "dateOfIssueYMD")
		out.ExpiryDate = k.dateField("dateOfExpiry", "dateOfExpiryYMD")
		out.KoreanName = k.field("koreanName", nil)
		out.PersonalNumber = k.field("personalNo", nil)
	default: // resident and driver share these keys
		out.Name = k.field("name", nil)
		out.PersonalNumber = k.field("residentNumber", residentNumber)
		out.IssueDate = k.dateField("issueDate", "")
		out.Issuer = k.field("issuer", nil)
		out.LicenseNumber = k.field("driverLicenseNumber", licenseNumber)
		out.LicenseType = k.field("licenseType", nil)
		out.Condition = k.field("condition", nil)
		out.SerialNumber = k.field("serialNum", nil)
	}
	if !pii {
		personal := normalize.MaskResidentNumber
		if a.IDType == result.IDPassport {
			personal = normalize.MaskAll // as CLOVA masks it: no part is safe to show
		}
		normalize.MaskField(out.PersonalNumber, personal)
		normalize.MaskField(out.LicenseNumber, normalize.MaskLicenseNumber)
		normalize.MaskField(out.PassportNumber, normalize.MaskPassportNumber)
	}
	return out
}

// rawMasks: keyValues keys (lower-case; matched case-folded) whose values
// result-v1 masks. A passport's personal number is masked whole, as CLOVA
// masks it.
var rawMasks = map[string]func(string) string{
	"residentnumber":      normalize.MaskResidentNumber,
	"personalno":          normalize.MaskAll,
	"driverlicensenumber": normalize.MaskLicenseNumber,
	"passportno":          normalize.MaskPassportNumber,
}

func (a *idCardAnswer) raw(pii bool) *idCardAnswer {
	c := *a
	if pii {
		return &c
	}
	c.KeyValues = append([]keyValue(nil), a.KeyValues...)
	k := a.keys()
	l1, l2 := normalize.MaskAll(k.get("MRZ1").Value), normalize.MaskAll(k.get("MRZ2").Value)
	if m := strings.SplitN(normalize.MaskMRZ(k.get("MRZ1").Value+"\n"+k.get("MRZ2").Value), "\n", 2); len(m) == 2 {
		l1, l2 = m[0], m[1]
	}
	for i, kv := range c.KeyValues {
		switch {
		case rawMasks[strings.ToLower(kv.Key)] != nil:
			c.KeyValues[i].Value = rawMasks[strings.ToLower(kv.Key)](kv.Value)
		case strings.EqualFold(kv.Key, "MRZ1"):
			c.KeyValues[i].Value = l1
		case strings.EqualFold(kv.Key, "MRZ2"):
			c.KeyValues[i].Value = l2
		}
	}
	return &c
}
