package clovaocr

import (
	"encoding/json"
	"time"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// ParseOptions tunes Parse.
type ParseOptions struct {
	PII bool      // keep personal numbers whole
	Now time.Time // for passport expiry; zero: time.Now()
}

// Parse reads a 200 answer of /document/{docType} and normalizes it into
// the result.* fields struct of docType. It returns the image's uid, and an
// *ocrerr.Error for an unreadable answer (InvalidResponse, retryable: a
// broken 200 body is most often a connection cut short by a proxy or the
// gateway, which a new call fixes; a vendor that always answers garbage
// still ends in retries_exhausted) or a failed recognition
// (RecognitionFailed, permanent: the same image reads the same way).
func Parse(docType string, data []byte, o ParseOptions) (fields any, uid string, err error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var a answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, "", ocrerr.Transient(ocrerr.InvalidResponse, "CLOVA OCR answer is not valid JSON").
			WithVendor("", 200).Wrap(jsonErrorOnly(err))
	}
	if len(a.Images) == 0 {
		return nil, "", ocrerr.Transient(ocrerr.InvalidResponse, "CLOVA OCR answer has no image result").WithVendor("", 200)
	}
	img := &a.Images[0]
	switch img.InferResult {
	case "SUCCESS":
	case "FAILURE", "ERROR":
		return nil, img.UID, ocrerr.Permanent(ocrerr.RecognitionFailed, "CLOVA OCR could not read the document (inferResult %s)", img.InferResult).
			WithVendor(img.InferResult, 200)
	default:
		return nil, img.UID, ocrerr.Transient(ocrerr.InvalidResponse, "CLOVA OCR answer has an unknown inferResult").WithVendor("", 200)
	}
	m := masker{pii: o.PII}
	switch docType {
	case result.TypeReceipt:
		var r receiptResult
		if img.Receipt != nil {
			r = img.Receipt.Result
		}
		return normReceipt(&r, m), img.UID, nil
	case result.TypeCreditCard:
		var r creditCardResult
		if img.CreditCard != nil {
			r = img.CreditCard.Result
		}
		return normCreditCard(&r, m), img.UID, nil
	case result.TypeNameCard:
		var r nameCardResult
		if img.NameCard != nil {
			r = img.NameCard.Result
		}
		return normNameCard(&r), img.UID, nil
	case result.TypeBizLicense:
		var r bizLicenseResult
		if img.BizLicense != nil {
			r = img.BizLicense.Result
		}
		return normBizLicense(&r), img.UID, nil
	case result.TypeIDCard:
		var r idCardResult
		if img.IDCard != nil {
			r = img.IDCard.Result
		}
		return normIDCard(&r, m), img.UID, nil
	case result.TypeMedicalReceipt:
		var r medicalReceipt
		if img.MedicalReceipt != nil {
			r = *img.MedicalReceipt
		}
		return normMedical(&r), img.UID, nil
	case result.TypePassport:
		var r passportResult
		if img.Passport != nil {
			r = img.Passport.PassportResult
		}
		return normPassport(&r, m, o.Now), img.UID, nil
	}
	return nil, "", ocrerr.Permanent(ocrerr.UnknownDocumentType, "CLOVA OCR does not read document type %q", docType)
}

// jsonErrorOnly keeps the decoder's error kind and offset but never a quote
// of the body (which may hold recognized values).
func jsonErrorOnly(err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return &offsetError{"syntax error", e.Offset}
	case *json.UnmarshalTypeError:
		return &offsetError{"unexpected type at " + e.Field, e.Offset}
	}
	return &offsetError{"malformed JSON", -1}
}

type offsetError struct {
	what   string
	offset int64
}

func (e *offsetError) Error() string {
	if e.offset < 0 {
		return e.what
	}
	return e.what + " at byte " + itoa(e.offset)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// rawRules mask the raw answer like the normalized fields (keepRaw).
var rawRules = map[string]func(string) string{
	"personalNum":    normalize.MaskResidentNumber, // ic, dl, pp
	"alienRegNum":    normalize.MaskResidentNumber,
	"alienRegNumEtc": normalize.MaskResidentNumber,
	"socialNumber":   normalize.MaskResidentNumber, // biz-license representative
	"coRepSocialNum": normalize.MaskResidentNumber,
	"number":         normalize.MaskCardNumber, // creditCard, receipt cardInfo
	"dl.num":         normalize.MaskLicenseNumber,
	"pp.num":         normalize.MaskPassportNumber,
	"pp.personalNum": normalize.MaskAll,            // a passport's personal number: masked whole
	"documentNumber": normalize.MaskPassportNumber, // passport MRZ
	"personalNumber": normalize.MaskAll,            // passport MRZ optional data
	// MRZ check digits the result masks (they help recover the numbers)
	"checkDigitForDocumentNumber": normalize.MaskAll,
	"checkDigitForPersonalNumber": normalize.MaskAll,
	"finalCheckDigit":             normalize.MaskAll,
	"mrzLines":                    normalize.MaskMRZ,
	"MRZ2":                        normalize.MaskAll, // id-card passport MRZ line 2: number and personal data
}

// RawForStorage is the vendor answer as stored next to a result (keepRaw):
// masked like the fields unless pii.
func RawForStorage(data []byte, pii bool) (json.RawMessage, error) {
	if pii {
		if !json.Valid(data) {
			return nil, &offsetError{"malformed JSON", -1}
		}
		return json.RawMessage(data), nil
	}
	b, err := normalize.MaskJSON(data, rawRules)
	if err != nil {
		return nil, jsonErrorOnly(err)
	}
	return b, nil
}

// MaskRaw applies today's masking to a raw copy stored by any version
// (producer remask): the stored copy has the answer's shape.
func MaskRaw(stored []byte) (json.RawMessage, error) { return RawForStorage(stored, false) }
