package clovaocr

import (
	"encoding/json"
	"net/http"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// errorBody is CLOVA's error answer: {"code","message","path","traceId","timestamp"}.
type errorBody struct {
	Code string `json:"code"`
}

// codeText describes the documented codes. We put our own words in
// messages, not the vendor's: its message text is not promised to be free of
// request details.
var codeText = map[string]string{
	"0001": "URL is invalid",
	"0002": "secret key validation failed",
	"0011": "request body invalid",
	"0021": "protocol version not supported",
	"0022": "request domain invalid",
	"0023": "API request count reached the upper limit",
	"0025": "rate limit exceeded",
	"0500": "unknown service error",
	"0501": "OCR service error",
	"1021": "OCR service error",
}

// answerError classifies a non-200 answer. CLOVA throttles with HTTP 400 and
// code 0025 (a per-domain concurrency limit), so the code decides before the
// status does.
func answerError(resp *http.Response, data []byte) *ocrerr.Error {
	status := resp.StatusCode
	var eb errorBody
	_ = json.Unmarshal(data, &eb) // gateways may answer HTML; the status still classifies
	code := vendors.DocumentedCode(eb.Code, 4)
	desc := codeText[code]
	if desc == "" {
		desc = "request refused"
	}
	retryAfter := vendors.RetryAfter(resp.Header)
	var e *ocrerr.Error
	switch {
	case code == "0025" || status == http.StatusTooManyRequests:
		return ocrerr.Throttled(code, status, retryAfter)
	case code == "0023":
		// The quota is per account: every call fails until it resets or an
		// operator raises it, so stop the vendor instead of burning retries.
		e = &ocrerr.Error{Code: ocrerr.QuotaExhausted, Message: "CLOVA OCR: " + desc, Halt: true}
	case code == "0002" || status == http.StatusUnauthorized || status == http.StatusForbidden:
		e = &ocrerr.Error{Code: ocrerr.VendorAuth, Message: "CLOVA OCR: secret rejected", Halt: true}
	case code == "0500" || code == "0501" || code == "1021" || status >= 500:
		e = ocrerr.Transient(ocrerr.VendorUnavailable, "CLOVA OCR: %s", desc)
		e.RetryAfter = retryAfter
	default:
		e = ocrerr.Permanent(ocrerr.VendorRejected, "CLOVA OCR: %s", desc)
	}
	return e.WithVendor(code, status)
}
