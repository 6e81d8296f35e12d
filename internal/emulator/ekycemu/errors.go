package ekycemu

import (
	"encoding/json"
	"net/http"
	"time"
)

// The eKYC error answers. The eKYC pages refer to a common status-code page
// that the seeds do not carry, so the emulator uses the error body of the
// CLOVA API family, {"code","message","path","timestamp"}, with CLOVA OCR's
// codes where one fits. Codes 0012 and 0013 are this project's choice for
// conditions the pages name (formats, requestId reuse) without a code.
const (
	codeURLInvalid        = "0001" // 404: no such endpoint
	codeSecretInvalid     = "0002" // 401: X-EKYC-SECRET missing or wrong
	codeBodyInvalid       = "0011" // 400: malformed body, missing field
	codeFormatUnsupported = "0012" // 400: image format not jpg/jpeg/png/pdf/tiff (project's choice)
	codeRequestIDReused   = "0013" // 400: requestId used within 10 minutes (project's choice)
	codeQuotaReached      = "0023" // 400: account call quota used up
	codeRateLimited       = "0025" // 400: too many calls (read the code, not the status)
	codeUnknownError      = "0500" // 500: unknown service error
)

// errorBody is the eKYC error answer.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Path      string `json:"path"`
	Timestamp int64  `json:"timestamp"`
}

var errorStatus = map[string]int{
	codeURLInvalid:        http.StatusNotFound,
	codeSecretInvalid:     http.StatusUnauthorized,
	codeBodyInvalid:       http.StatusBadRequest,
	codeFormatUnsupported: http.StatusBadRequest,
	codeRequestIDReused:   http.StatusBadRequest,
	codeQuotaReached:      http.StatusBadRequest,
	codeRateLimited:       http.StatusBadRequest,
	codeUnknownError:      http.StatusInternalServerError,
}

var errorMessage = map[string]string{
	codeURLInvalid:        "URL is invalid.",
	codeSecretInvalid:     "Secret key validate failed.",
	codeBodyInvalid:       "Request body invalid.",
	codeFormatUnsupported: "Image format not supported.",
	codeRequestIDReused:   "Duplicated requestId. A requestId cannot be reused for 10 minutes.",
	codeQuotaReached:      "API request count reach the upper limit.",
	codeRateLimited:       "Calls to this api have exceeded the rate limit.",
	codeUnknownError:      "Unknown service error.",
}

// writeError answers code in the eKYC error shape. detail, when set, is
// appended to the standard message (it never holds request data).
func writeError(w http.ResponseWriter, r *http.Request, code, detail string) {
	msg := errorMessage[code]
	if detail != "" {
		msg += " " + detail
	}
	writeJSON(w, errorStatus[code], errorBody{Code: code, Message: msg, Path: r.URL.Path, Timestamp: time.Now().UnixMilli()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
