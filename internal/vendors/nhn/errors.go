package nhn

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// NHN result codes (seed 001 and shared/seeds/README.md). NHN answers HTTP
// 200 even on failure: header.isSuccessful with resultCode 0 is success.
const (
	codeOK                  = 0
	codeInvalidParameter    = 4000001
	codeInvalidFile         = 4000002
	codeInvalidFileType     = 4000003
	codeEmptyFile           = 4000004
	codeMissingHeader       = 4000005
	codeCallLimitExceeded   = 4000006
	codeRequestKeyInvalid   = 4000122
	codeAuthLocked          = 4000123
	codeInvalidKeyVersion   = 4000301
	codeInvalidSymmetricKey = 4000302
	codeInvalidEncrypted    = 4000303
	codeServiceNotEnabled   = 4000401
	codeInvalidAppKey       = 4010001
	codeMaxUploadExceeded   = 4131000
	codeDecryptFail         = 5000006
	codeEncryptFail         = 5000007
	codeUnavailable         = 5000503
)

// header is the "header" object of every NHN answer.
type header struct {
	IsSuccessful  bool   `json:"isSuccessful"`
	ResultCode    int    `json:"resultCode"`
	ResultMessage string `json:"resultMessage"`
}

func (h header) ok() bool { return h.IsSuccessful && h.ResultCode == codeOK }

// envelopeTrouble reports codes that a fresh public key and a fresh
// symmetric key may cure: the cached key version is stale, or the vendor
// could not open our envelope (or seal its answer). Recognize refreshes the
// key and re-sends ONCE; a second such answer is final.
func envelopeTrouble(code int) bool {
	switch code {
	case codeInvalidKeyVersion, codeInvalidSymmetricKey, codeInvalidEncrypted, codeDecryptFail, codeEncryptFail:
		return true
	}
	return false
}

// recognitionFailure reports the 50030xx per-document recognition failures.
func recognitionFailure(code int) bool { return code >= 5003000 && code <= 5003099 }

// resultError classifies an unsuccessful header. The vendor's message is
// kept only when it is a plain identifier-like string, so nothing a vendor
// echoes back (a value, a key) can reach logs or results.
func resultError(h header, httpStatus int, retryAfter time.Duration) *ocrerr.Error {
	code := h.ResultCode
	var e *ocrerr.Error
	switch {
	case code == codeCallLimitExceeded:
		e = ocrerr.Throttled("", 0, retryAfter)
	case code == codeInvalidAppKey:
		e = ocrerr.Permanent(ocrerr.VendorAuth, "appKey or secret key rejected")
		e.Halt = true
	case code == codeAuthLocked:
		e = ocrerr.Permanent(ocrerr.VendorAuth, "authentication locked")
		e.Halt = true
	case code == codeServiceNotEnabled:
		e = ocrerr.Permanent(ocrerr.VendorRejected, "OCR service not enabled for this appKey")
		e.Halt = true
	case code == codeMaxUploadExceeded:
		e = ocrerr.Permanent(ocrerr.TooLarge, "image over the vendor's upload limit")
	case code == codeInvalidFileType:
		e = ocrerr.Permanent(ocrerr.UnsupportedFormat, "file type not accepted by the vendor")
	case code >= codeInvalidParameter && code <= codeMissingHeader:
		e = ocrerr.Permanent(ocrerr.VendorRejected, "request rejected")
	case code == codeRequestKeyInvalid:
		// Single use, one hour: running the id-card chain again issues a new one.
		e = ocrerr.Transient(ocrerr.VendorRejected, "Request-Key invalid or expired")
	case envelopeTrouble(code):
		e = ocrerr.Permanent(ocrerr.VendorRejected, "envelope encryption rejected after a key refresh")
	case recognitionFailure(code):
		e = ocrerr.Permanent(ocrerr.RecognitionFailed, "document not recognized")
	case code == codeUnavailable || code >= 5000000:
		e = ocrerr.Transient(ocrerr.VendorUnavailable, "vendor temporarily unavailable")
	default:
		e = ocrerr.Permanent(ocrerr.VendorRejected, "request failed")
	}
	if m := safeMessage(h.ResultMessage); m != "" {
		e.Message += ": " + m
	}
	return e.WithVendor(strconv.Itoa(code), httpStatus)
}

// httpError classifies a non-200 answer that carried no NHN header.
func httpError(status int, retryAfter time.Duration) *ocrerr.Error {
	var e *ocrerr.Error
	switch {
	case status == http.StatusTooManyRequests:
		return ocrerr.Throttled("", status, retryAfter)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e = ocrerr.Permanent(ocrerr.VendorAuth, "vendor refused the credentials")
		e.Halt = true
	case status == http.StatusRequestEntityTooLarge:
		e = ocrerr.Permanent(ocrerr.TooLarge, "image over the vendor's upload limit")
	case status >= 500:
		e = ocrerr.Transient(ocrerr.VendorUnavailable, "vendor server error")
	default:
		e = ocrerr.Permanent(ocrerr.VendorRejected, "unexpected HTTP status")
	}
	return e.WithVendor("", status)
}

// invalidResponse is a 200 whose body cannot be read. Retryable: a body cut
// short is usually transport trouble, and the next attempt re-sends anyway.
func invalidResponse(status int, what string) *ocrerr.Error {
	return ocrerr.Transient(ocrerr.InvalidResponse, "unreadable vendor answer: %s", what).WithVendor("", status)
}

// safeMessage returns m if it is a short identifier-like vendor message
// ("INVALID_KEY_VERSION", "Service is not enabled."), else "".
func safeMessage(m string) string {
	m = strings.TrimSpace(m)
	if m == "" || len(m) > 80 {
		return ""
	}
	for _, r := range m {
		ok := r == ' ' || r == '_' || r == '-' || r == '.' || r == ',' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok { // digits excluded on purpose: numbers may be personal data
			return ""
		}
	}
	return m
}
