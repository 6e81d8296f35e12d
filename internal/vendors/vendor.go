// Package vendors is the boundary between the pipeline and the OCR vendors.
// Each vendor lives in its own sub-package, describes itself once in a
// Driver (kind, types, formats, config options, constructor) and implements
// Client; the vendorset package lists the drivers. No vendor package knows
// asynq, Redis, object storage or the config package, and none knows
// another vendor's wire format. A Client makes exactly one vendor call
// sequence per Recognize (no retries inside): the caller owns retries, rate
// limits and results. What every vendor needs alike (CheckURL,
// NoRedirects, TransportError, RetryAfter, DocumentedCode, Scrub) is here,
// once.
package vendors

import (
	"context"
	"encoding/json"
	"io"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// Image is one image to send. It is opened (possibly more than once, e.g.
// to re-encrypt after a stale key) by the client and streamed to the vendor:
// clients must not read it whole into memory when the wire format allows
// streaming.
type Image struct {
	Name   string // a neutral name for the vendor's "name" field; never personal data
	Format string // detected from the bytes: "jpg", "png", "pdf" or "tiff"
	Size   int64  // bytes
	Open   func(ctx context.Context) (io.ReadCloser, error)
}

// Request asks a vendor to read one document.
type Request struct {
	DocumentType string // a result.Type* constant
	Image        Image  // the document (for face-compare: the ID card)
	Face         *Image // face-compare only: the face photo
	Verify       bool   // id-card at NHN: also run the authenticity check
	PII          bool   // keep personal numbers whole (pii: full); masked otherwise
	KeepRaw      bool   // return the vendor's raw response (masked unless PII) in Response.Raw
}

// Response is a vendor's answer, already normalized.
type Response struct {
	Endpoint  string // e.g. "document/receipt"
	RequestID string // the requestId sent on the successful call
	UID       string // the vendor's own id for the call, when it gives one
	// Fields is a pointer to the result.* struct of the document type
	// (*result.Receipt, *result.IDCard, ...), masked unless Request.PII.
	Fields any
	// Details go into the result's "vendor" section after its own keys: a
	// vendor's facts about the call, kept for a later call (eKYC's
	// inferDetailType, for one).
	Details []result.Detail
	Raw     json.RawMessage // only when Request.KeepRaw
}

// Client is one configured vendor account.
//
// Recognize returns either a Response or an *ocrerr.Error that says what went
// wrong and whether trying again can help (ocrerr.Error.Retryable, Throttle,
// Halt, RetryAfter). Error messages never hold secrets or personal data.
type Client interface {
	// Kind is the config "kind" (Driver.Kind).
	Kind() string
	// Supports reports whether the vendor reads this document type (Driver.Types).
	Supports(documentType string) bool
	// Formats lists the image formats the vendor accepts (Driver.Formats).
	Formats() []string
	Recognize(ctx context.Context, req *Request) (*Response, error)
}

// FieldsType returns a new, empty fields struct for a document type, for
// decoding results back.
func FieldsType(documentType string) any {
	switch documentType {
	case result.TypeReceipt:
		return &result.Receipt{}
	case result.TypeCreditCard:
		return &result.CreditCard{}
	case result.TypeNameCard:
		return &result.NameCard{}
	case result.TypeBizLicense:
		return &result.BizLicense{}
	case result.TypeIDCard:
		return &result.IDCard{}
	case result.TypeMedicalReceipt:
		return &result.MedicalReceipt{}
	case result.TypePassport:
		return &result.Passport{}
	case result.TypeFaceCompare:
		return &result.FaceCompare{}
	}
	return nil
}
