// Package result is the normalized result schema, ocr-result/v1
// (shared/spec/result-v1.md). Every vendor fills the same per-type structs,
// so the same document read by two vendors marshals to the same fields.
package result

import (
	"encoding/json"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// Schema is the value of every result's "schema" key.
const Schema = "ocr-result/v1"

// Status values.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Document types (shared/spec/interface.md).
const (
	TypeReceipt        = "receipt"
	TypeCreditCard     = "credit-card"
	TypeNameCard       = "name-card"
	TypeBizLicense     = "biz-license"
	TypeIDCard         = "id-card"
	TypeMedicalReceipt = "medical-receipt"
	TypePassport       = "passport"
	TypeFaceCompare    = "face-compare"
)

// DocumentTypes lists every known document type.
var DocumentTypes = []string{TypeReceipt, TypeCreditCard, TypeNameCard, TypeBizLicense,
	TypeIDCard, TypeMedicalReceipt, TypePassport, TypeFaceCompare}

// KnownType reports whether t is a document type of the contract.
func KnownType(t string) bool {
	for _, k := range DocumentTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Result is one result object, written to <out>/<key>.json.
type Result struct {
	Schema       string     `json:"schema"`
	Status       string     `json:"status"`
	DocumentType string     `json:"documentType"`
	Source       Source     `json:"source"`
	FaceSource   *Source    `json:"faceSource,omitempty"` // face-compare: the face image
	Vendor       VendorInfo `json:"vendor"`
	Batch        string     `json:"batch,omitempty"`
	Attempts     int        `json:"attempts"`
	StartedAt    Time       `json:"startedAt"`
	CompletedAt  Time       `json:"completedAt"`
	DurationMs   int64      `json:"durationMs"`
	Fields       any        `json:"fields"`
	Error        *ErrorInfo `json:"error"`
	// PageCount is the number of pages of a multi-page source (omitted
	// for one page); with types.<type>.pages: first only page 1 was read.
	PageCount int `json:"pageCount,omitempty"`
	// Pages are the outcomes of each page read of a multi-page source
	// (pages: each); Fields is then page 1's. Omitted for one page.
	Pages []Page `json:"pages,omitempty"`
}

// Page is the outcome of one page of a multi-page source.
type Page struct {
	Page   int        `json:"page"` // from 1
	Status string     `json:"status"`
	Fields any        `json:"fields"`
	Error  *ErrorInfo `json:"error"`
}

// Source describes the image a result was made from.
type Source struct {
	URI    string `json:"uri"`
	ETag   string `json:"etag,omitempty"`
	Size   int64  `json:"size"`
	Format string `json:"format,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// VendorInfo says who read the document, through which endpoint.
type VendorInfo struct {
	Name      string `json:"name,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	UID       string `json:"uid,omitempty"`
	// Details are facts a vendor reports about the call beyond the keys
	// above, kept for a later call; each vendor names its own. They are
	// written after those keys, in order (vendorinfo.go).
	Details []Detail `json:"-"`
}

// ErrorInfo is a failed result's "error".
type ErrorInfo struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	VendorCode string `json:"vendorCode,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	Retryable  bool   `json:"retryable"`
}

// ErrorInfoFrom converts a classified error into a result's error.
func ErrorInfoFrom(e *ocrerr.Error) *ErrorInfo {
	if e == nil {
		return nil
	}
	return &ErrorInfo{Code: string(e.Code), Message: e.Message, VendorCode: e.VendorCode,
		HTTPStatus: e.HTTPStatus, Retryable: e.Retryable}
}

// Time marshals as RFC 3339 UTC with milliseconds: 2026-11-24T01:02:03.456Z.
type Time struct{ time.Time }

const timeLayout = "2006-01-02T15:04:05.000Z"

func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(timeLayout))
}

func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	t.Time = v
	return err
}

// Field is one recognized value.
type Field struct {
	// Value is the normalized, typed value: a string (dates YYYY-MM-DD,
	// times HH:MM:SS, phone digits, NNN-NN-NNNNN), a number (money, counts)
	// or nil when normalizing failed.
	Value      any            `json:"value"`
	Text       string         `json:"text"`
	Confidence *float64       `json:"confidence,omitempty"`
	Boxes      [][][2]float64 `json:"boxes,omitempty"`
}
