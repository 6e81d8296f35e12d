package ekyc

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// eKYC error codes. The Document and Face Compare pages point to a common
// status-code page the seeds do not hold; eKYC answers errors in the CLOVA
// family's body {"code","message","path","timestamp"}, and these are the
// codes the client acts on (0012 and 0013 are the project's emulator's
// codes for conditions the pages name without a code). NCP's API Gateway,
// which fronts eKYC, answers its own errors as {"error":{"errorCode",
// "message"}}: 401 "200"/"210" (authentication), 429 "400" (quota), 429
// "410"/"420" (throttle and rate limit).
const (
	codeSecretInvalid     = "0002"
	codeFormatUnsupported = "0012"
	codeRequestIDReused   = "0013"
	codeQuotaReached      = "0023"
	codeRateLimited       = "0025"

	gatewayAuthFailed       = "200"
	gatewayPermissionDenied = "210"
	gatewayQuotaExceeded    = "400"
	gatewayThrottleLimited  = "410"
	gatewayRateLimited      = "420"
)

// errorAnswer reads both error bodies.
type errorAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Error   *struct {
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	} `json:"error"`
}

// httpError classifies a non-200 answer. The code decides where there is
// one: eKYC, like CLOVA OCR, throttles with HTTP 400 and code 0025.
func httpError(status int, h http.Header, body []byte) *ocrerr.Error {
	var a errorAnswer
	_ = json.Unmarshal(body, &a)
	// Only documented shapes are copied: four digits in the CLOVA body,
	// three in the gateway's errorCode.
	code, msg := vendors.DocumentedCode(a.Code, 4), a.Message
	gateway := false
	if code == "" && a.Error != nil {
		code, msg, gateway = vendors.DocumentedCode(a.Error.ErrorCode, 3), a.Error.Message, true
	}
	msg = safeMessage(msg)
	switch {
	case code == codeRateLimited, gateway && (code == gatewayThrottleLimited || code == gatewayRateLimited),
		status == http.StatusTooManyRequests && !(gateway && code == gatewayQuotaExceeded):
		return ocrerr.Throttled(code, status, vendors.RetryAfter(h))
	case code == codeQuotaReached, gateway && code == gatewayQuotaExceeded:
		e := ocrerr.Permanent(ocrerr.QuotaExhausted, "eKYC call quota used up%s", msg).WithVendor(code, status)
		e.Halt = true
		return e
	case code == codeSecretInvalid, gateway && (code == gatewayAuthFailed || code == gatewayPermissionDenied),
		status == http.StatusUnauthorized, status == http.StatusForbidden:
		e := ocrerr.Permanent(ocrerr.VendorAuth, "eKYC rejected the secret%s", msg).WithVendor(code, status)
		e.Halt = true
		return e
	case code == codeRequestIDReused:
		// Only a fresh requestId fixes it, and every attempt gets one.
		return ocrerr.Transient(ocrerr.VendorRejected, "eKYC refused a reused requestId%s", msg).WithVendor(code, status)
	case code == codeFormatUnsupported:
		return ocrerr.Permanent(ocrerr.UnsupportedFormat, "eKYC refused the image format%s", msg).WithVendor(code, status)
	case status >= 500:
		e := ocrerr.Transient(ocrerr.VendorUnavailable, "eKYC server error%s", msg).WithVendor(code, status)
		e.RetryAfter = vendors.RetryAfter(h)
		return e
	default:
		return ocrerr.Permanent(ocrerr.VendorRejected, "eKYC rejected the request%s", msg).WithVendor(code, status)
	}
}

// safeMessage keeps a short, printable-ASCII vendor message for our error
// text. Vendor error messages describe the request's shape; one holding a
// digit may echo a value from the document (a number), so it is dropped
// whole. The cap keeps a misbehaving answer from flooding logs.
func safeMessage(m string) string {
	var b strings.Builder
	for _, r := range m {
		if r >= '0' && r <= '9' {
			return ""
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
		if b.Len() >= 120 {
			break
		}
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		return ": " + s
	}
	return ""
}
