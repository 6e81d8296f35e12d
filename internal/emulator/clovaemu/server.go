// Package clovaemu emulates the NAVER Cloud CLOVA OCR Document API (V2) as
// its published documents describe it: the seven /document/{type} endpoints,
// the X-OCR-SECRET header, both body modes, the documented error body and
// codes, and success answers in each type's documented shape, whose values
// are the document emulator.Derive says the image shows.
//
// Throttling is answered as CLOVA does it: HTTP 400 with code 0025, not 429.
package clovaemu

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

// DefaultMaxBodyBytes bounds a request body. The seed does not state a size
// limit; 50 MiB lets any single-page document through.
const DefaultMaxBodyBytes = 50 << 20

// Options configures a Server.
type Options struct {
	// Secret is the domain's X-OCR-SECRET. Empty means every secret is
	// refused (0002), so a misconfigured emulator fails loudly.
	Secret   string
	Behavior emulator.Behavior
	// Quota is how many admitted calls the domain may make before every call
	// is answered 400 0023 (request count reached the upper limit); 0 means
	// no quota.
	Quota int
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes);
	// larger bodies are answered 400 0011.
	MaxBodyBytes int64
}

// Server is the emulated CLOVA OCR domain. Mount it at the invoke URL (with
// http.StripPrefix); it serves POST /document/{type}.
type Server struct {
	secret  string
	engine  *emulator.Engine
	maxBody int64
	now     func() time.Time

	mu        sync.Mutex
	quota     int
	quotaUsed int
}

// New returns a Server.
func New(o Options) *Server {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &Server{
		secret:  o.Secret,
		engine:  emulator.NewEngine(o.Behavior),
		maxBody: o.MaxBodyBytes,
		now:     time.Now,
		quota:   o.Quota,
	}
}

// Engine is the server's behavior engine (limits, faults, counters).
func (s *Server) Engine() *emulator.Engine { return s.engine }

// SetQuota replaces the quota (0: none) and starts counting again from zero.
func (s *Server) SetQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota, s.quotaUsed = n, 0
}

// Documented error codes and messages.
var (
	errURL       = &apiError{http.StatusBadRequest, "0001", "URL is invalid."}
	errSecret    = &apiError{http.StatusUnauthorized, "0002", "Secret key validate failed."}
	errQuota     = &apiError{http.StatusBadRequest, "0023", "API request count reach the upper limit."}
	errRateLimit = &apiError{http.StatusBadRequest, "0025", "Calls to this api have exceeded the rate limit."}
	errServer    = &apiError{http.StatusInternalServerError, "0500", "Unknown service error."}
)

// Messages of the 200 answers whose inferResult is not SUCCESS. The 2026
// id-card page shows "Read page:0 error." for ERROR.
const (
	failureMessage = "Failed to recognize the document."
	errorMessage   = "Read page:0 error."
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	docType, ok := strings.CutPrefix(r.URL.Path, "/document/")
	if !ok || !documentTypes[docType] || r.Method != http.MethodPost {
		s.engine.Count("unknown", errURL.code)
		s.writeError(w, r, errURL)
		return
	}
	endpoint := "document/" + docType
	if !s.secretOK(r.Header.Get("X-OCR-SECRET")) {
		s.engine.Count(endpoint, errSecret.code)
		s.writeError(w, r, errSecret)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	req, apiErr := parseRequest(r)
	if apiErr != nil {
		s.engine.Count(endpoint, apiErr.code)
		s.writeError(w, r, apiErr)
		return
	}
	// CLOVA does not refuse a reused requestId; record it so tests can prove
	// that every call, retries included, had a fresh one.
	s.engine.SeenRequestID(req.requestID, 0)
	if !s.reserveQuota() {
		s.engine.Count(endpoint, errQuota.code)
		s.writeError(w, r, errQuota)
		return
	}
	fault, done := s.engine.Admit(r.Context(), endpoint, req.image)
	if fault == emulator.FaultThrottle {
		s.releaseQuota()
	}
	done(s.answer(w, r, fault, docType, req))
}

func (s *Server) secretOK(got string) bool {
	return s.secret != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.secret)) == 1
}

// reserveQuota takes one call from the quota, if any is left.
func (s *Server) reserveQuota() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quota > 0 && s.quotaUsed >= s.quota {
		return false
	}
	s.quotaUsed++
	return true
}

// releaseQuota gives back a call that was throttled, which the vendor does
// not bill.
func (s *Server) releaseQuota() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotaUsed--
}

// answer writes the answer the fault calls for and returns the outcome for
// the engine's counters.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, fault emulator.Fault, docType string, req *parsedRequest) string {
	switch fault {
	case emulator.FaultThrottle:
		s.writeError(w, r, errRateLimit)
		return errRateLimit.code
	case emulator.FaultServerError:
		s.writeError(w, r, errServer)
		return errServer.code
	case emulator.FaultNotJSON:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"))
		return "NOTJSON"
	}
	img := imageResponse{
		UID:              newID(),
		Name:             req.name,
		ValidationResult: validationResult{Result: "NO_REQUESTED"},
	}
	outcome := "SUCCESS"
	switch fault {
	case emulator.FaultFailure:
		img.InferResult, img.Message = "FAILURE", failureMessage
		outcome = img.InferResult
	case emulator.FaultError:
		img.InferResult, img.Message = "ERROR", errorMessage
		outcome = img.InferResult
	default:
		img.InferResult, img.Message = "SUCCESS", "SUCCESS"
		container := declaredFormats[req.format]
		w, h := pageSize(container, req.image)
		if container == "pdf" || container == "tiff" {
			img.ConvertedImage = &convertedImage{Width: w, Height: h, PageIndex: 0}
		}
		doc := emulator.Derive(req.image)
		render(&img, docType, doc, page{w: float64(w), h: float64(h), sum: doc.SHA256}, s.now())
	}
	body, err := json.Marshal(response{Version: "V2", RequestID: req.requestID, Timestamp: s.now().UnixMilli(), Images: []imageResponse{img}})
	if err != nil {
		s.writeError(w, r, errServer)
		return errServer.code
	}
	if fault == emulator.FaultTruncated {
		body, outcome = body[:len(body)/2], "TRUNCATED"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return outcome
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	// path is the request path as the client sent it, before any prefix
	// was stripped by the mount.
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if path == "" {
		path = r.URL.Path
	}
	body, _ := json.Marshal(errorBody{Code: e.code, Message: e.message, Path: path, TraceID: newID(), Timestamp: s.now().UnixMilli()})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// newID is a 32-hex-digit id, the shape of the seed's uid values.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
