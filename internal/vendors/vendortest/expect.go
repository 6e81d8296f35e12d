package vendortest

import (
	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// Expect maps JSON paths of a document type's normalized, MASKED fields
// (dot-separated; list indexes as numbers, "items.0.price.value") to the
// values every vendor must produce for an image showing d. Vendor emulators
// render Derive's values in their own wire format; the client must
// normalize them back to exactly these. Values are compared after a JSON
// round trip, so int64 and float64 compare equal.
//
// Face-compare is expected from the Derive of the card image.
func Expect(docType string, d emulator.Doc) map[string]any {
	switch docType {
	case result.TypeReceipt:
		m := map[string]any{
			"totalPrice.value":   d.TotalPrice,
			"payment.date.value": d.ReceiptDate.ISO(),
			"payment.time.value": d.ReceiptTime,
			"store.bizNum.value": d.BizNumber,
		}
		if len(d.Items) > 0 {
			m["items.0.name.value"] = d.Items[0].Name
			m["items.0.count.value"] = d.Items[0].Count
			m["items.0.price.value"] = d.Items[0].Price
		}
		return m
	case result.TypeCreditCard:
		return map[string]any{
			"number.value":    normalize.MaskCardNumber(d.CardNumber),
			"number.text":     normalize.MaskCardNumber(d.CardNumber),
			"validThru.value": d.ValidThru,
		}
	case result.TypeNameCard:
		return map[string]any{
			"name.0.value":    d.Name,
			"company.0.value": d.Company,
			"mobile.0.value":  normalize.Digits(d.Mobile),
			"email.0.value":   d.Email,
		}
	case result.TypeBizLicense:
		return map[string]any{
			"registerNumber.value": d.BizNumber,
			"companyName.value":    d.CompanyName,
			"representative.value": d.Name,
			"openDate.value":       d.OpenDate.ISO(),
		}
	case result.TypeIDCard:
		return map[string]any{
			"idType":               result.IDResident,
			"name.text":            d.Name,
			"personalNumber.value": normalize.MaskResidentNumber(d.PersonalNumber),
			"personalNumber.text":  normalize.MaskResidentNumber(d.PersonalNumber),
			"issueDate.value":      d.IssueDate.ISO(),
		}
	case result.TypePassport:
		return map[string]any{
			"passportNumber.value": normalize.MaskPassportNumber(d.PassportNumber),
			"surname.value":        d.Surname,
			"givenNames.value":     d.GivenName,
			"birthDate.value":      d.BirthDate.ISO(),
			"expiryDate.value":     d.ExpiryDate.ISO(),
			"sex.value":            d.Sex,
			"mrzValid":             true,
		}
	case result.TypeFaceCompare:
		return map[string]any{"similarity": d.Similarity}
	case result.TypeMedicalReceipt:
		// Derive holds no medical bill; the suite only checks the shape.
		return map[string]any{}
	}
	return nil
}

// ExpectPII is what changes when the request asks for whole personal
// numbers (Request.PII): the unmasked values. Types without personal
// numbers give nil.
func ExpectPII(docType string, d emulator.Doc) map[string]any {
	switch docType {
	case result.TypeCreditCard:
		return map[string]any{"number.value": d.CardNumber}
	case result.TypeIDCard:
		return map[string]any{"personalNumber.value": d.PersonalNumber}
	case result.TypePassport:
		return map[string]any{"passportNumber.value": d.PassportNumber}
	}
	return nil
}
