// Package ocrerr is the one error type of the pipeline. Every failure that can
// end a document carries its result-v1 code and its class (retryable,
// throttle, vendor-wide halt), so handlers and the result writer decide from
// the error's fields, never from its text.
//
// Messages must never contain secrets, image bytes or personal data: they are
// logged and written into results.
package ocrerr

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable result-v1 error code.
type Code string

// The result-v1 error codes. They are part of the public contract: never
// rename one.
const (
	SourceNotFound      Code = "source_not_found"      // the object (or the face image) does not exist
	EmptySource         Code = "empty_source"          // the object has zero bytes
	InvalidImage        Code = "invalid_image"         // the bytes are no image the project knows
	UnsupportedFormat   Code = "unsupported_format"    // an image, but a format the vendor does not take
	TooLarge            Code = "too_large"             // over the configured size limit
	MultiPage           Code = "multi_page"            // a PDF/TIFF with more than one page where one is allowed
	TooManyPages        Code = "too_many_pages"        // a PDF/TIFF over the document type's maxPages
	PageFailed          Code = "page_failed"           // a multi-page source where some page failed (its pages say which)
	UnknownDocumentType Code = "unknown_document_type" // no such document type, or not for that vendor
	UnknownVendor       Code = "unknown_vendor"        // the task or route names no configured vendor
	InvalidTask         Code = "invalid_task"          // the task payload is malformed or of an unknown version
	VendorRejected      Code = "vendor_rejected"       // the vendor refused the request (4xx, bad parameter)
	RecognitionFailed   Code = "recognition_failed"    // the vendor ran but could not read the document
	VendorAuth          Code = "vendor_auth"           // credentials rejected
	QuotaExhausted      Code = "quota_exhausted"       // the account's call quota is used up
	BudgetExhausted     Code = "budget_exhausted"      // the vendor's configured call budget (vendors.*.budget) is used up this period: a halt reason, never a result's code
	RateLimited         Code = "rate_limited"          // the vendor throttled the call
	VendorUnavailable   Code = "vendor_unavailable"    // network error, timeout or 5xx
	InvalidResponse     Code = "invalid_response"      // the vendor answered something unreadable
	VendorRedirect      Code = "vendor_redirect"       // the vendor answered a redirect, which is never followed
	StorageUnavailable  Code = "storage_unavailable"   // object storage failed transiently
	StorageRejected     Code = "storage_rejected"      // object storage refused the request for good (4xx: access denied, bad name)
	KeyTooLong          Code = "key_too_long"          // the result key would exceed S3's 1,024 bytes
	ResultConflict      Code = "result_conflict"       // the result key holds an object that is not this source's result
	ForbiddenLocation   Code = "forbidden_location"    // a bucket outside storage.buckets.read/write
	RetriesExhausted    Code = "retries_exhausted"     // a transient error outlived the retry budget
	Internal            Code = "internal"              // a bug: should never be seen
)

// Error is a classified pipeline error.
type Error struct {
	Code       Code
	Message    string // safe to log: no secrets, no personal data
	VendorCode string // the vendor's own code, e.g. CLOVA "0011" or NHN "4000301"
	HTTPStatus int    // the vendor's HTTP status, 0 when there was no answer
	// Retryable: trying again later may succeed (network, 5xx, throttling).
	Retryable bool
	// Throttle: the vendor said "too many calls"; retry without counting a failure.
	Throttle bool
	// RetryAfter: how long the vendor asked us to wait, when it said so.
	RetryAfter time.Duration
	// Halt: every call to this vendor account will fail the same way (quota
	// used up, credentials rejected) until an operator acts.
	Halt bool
	Err  error // the underlying cause, if any (never holds personal data)
}

func (e *Error) Error() string {
	s := string(e.Code) + ": " + e.Message
	if e.VendorCode != "" {
		s += " (vendor code " + e.VendorCode + ")"
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (http %d)", e.HTTPStatus)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent is an error that retrying cannot fix.
func Permanent(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Transient is an error that may go away on a later attempt.
func Transient(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Retryable: true}
}

// Throttled is a vendor rate-limit answer.
func Throttled(vendorCode string, httpStatus int, retryAfter time.Duration) *Error {
	return &Error{Code: RateLimited, Message: "vendor rate limit exceeded", VendorCode: vendorCode,
		HTTPStatus: httpStatus, Retryable: true, Throttle: true, RetryAfter: retryAfter}
}

// Wrap attaches a cause to e and returns e.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// WithVendor records the vendor's code and HTTP status and returns e.
func (e *Error) WithVendor(code string, httpStatus int) *Error {
	e.VendorCode, e.HTTPStatus = code, httpStatus
	return e
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Classify returns err's *Error, or wraps an unclassified error as a
// retryable internal one so that nothing unclassified is ever dropped.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	if e, ok := As(err); ok {
		return e
	}
	return &Error{Code: Internal, Message: "unclassified error", Retryable: true, Err: err}
}
