// Package ekycemu emulates CLOVA eKYC's Document API (biz-license,
// id-card) and Face Compare API on their documented wire formats, with
// values from emulator.Derive and faults from an emulator.Engine.
//
// Paths are relative to the domain's invoke URL and matched by suffix, so
// the server answers under any prefix (…/ekyc/v1/{domainId}/{signature}):
//
//	POST {invokeURL}/biz-license/document
//	POST {invokeURL}/id-card/document
//	POST {invokeURL}/face/compare
//
// The id-card endpoint shows a resident registration card, or the ID a
// marker in the image names (MarkerDriverLicense, MarkerPassport,
// MarkerAlienCard).
//
// Validation runs in this order and answers in the eKYC error shape (see
// errors.go): endpoint (0001), X-EKYC-SECRET (0002), body and required fields
// (0011), image format (0012), requestId reused within 10 minutes (0013),
// call quota (0023). Only then is the call admitted to the Engine, whose
// faults answer as: throttle -> 400/0025, recognition failure ->
// inferResult FAILURE (face compare: result ERROR), recognition exception ->
// inferResult ERROR, server error -> 500/0500, not-JSON and truncated
// bodies -> HTTP 200 with such a body.
//
// Face compare is admitted with the card image: fault markers (and
// MarkerFlaky's call count) are read from the card image only, and the
// similarity is Derive(card).Similarity, so a retry that brings the same card
// with another face photo gets the same answer. Either image holding
// emulator.MarkerNoFace shows no face: its face is missing from faces[], and
// the answer is result ERROR with the message "Face not detected: cardImage"
// (or faceImage, or both, comma-separated).
package ekycemu

import (
	"bytes"
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

// RequestIDWindow is how long the vendor refuses a requestId it has seen.
const RequestIDWindow = 10 * time.Minute

// Endpoints, as counted in Engine stats ("<endpoint> <outcome>").
const (
	EndpointBizLicense  = "biz-license/document"
	EndpointIDCard      = "id-card/document"
	EndpointFaceCompare = "face/compare"
)

// Options configures a Server.
type Options struct {
	Secret   string            // the X-EKYC-SECRET the server accepts
	Behavior emulator.Behavior // latency, limits and faults
	// Quota, when > 0, is how many admitted calls the account may make; later
	// calls answer 0023 (quota reached) until Reset.
	Quota int
}

// Server is an eKYC emulator. It is an http.Handler.
type Server struct {
	secret string
	engine *emulator.Engine

	mu    sync.Mutex
	quota int
	used  int
}

// New returns a server with its own Engine.
func New(o Options) *Server {
	return &Server{secret: o.Secret, engine: emulator.NewEngine(o.Behavior), quota: o.Quota}
}

// Engine returns the server's engine (behavior, stats, admin handler).
func (s *Server) Engine() *emulator.Engine { return s.engine }

// SetQuota replaces the call quota (0: unlimited) and clears the calls used.
func (s *Server) SetQuota(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota, s.used = n, 0
}

func (s *Server) overQuota() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quota <= 0 {
		return false
	}
	if s.used >= s.quota {
		return true
	}
	s.used++
	return false
}

// ServeHTTP answers one eKYC call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := ""
	for _, e := range []string{EndpointBizLicense, EndpointIDCard, EndpointFaceCompare} {
		if strings.HasSuffix(r.URL.Path, "/"+e) {
			endpoint = e
		}
	}
	if endpoint == "" || r.Method != http.MethodPost {
		s.engine.Count(strings.TrimPrefix(r.URL.Path, "/"), "not_found")
		writeError(w, r, codeURLInvalid, "")
		return
	}
	if !s.authorized(r) {
		s.engine.Count(endpoint, "unauthorized")
		writeError(w, r, codeSecretInvalid, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if endpoint == EndpointFaceCompare {
		s.serveCompare(w, r)
		return
	}
	s.serveDocument(w, r, endpoint)
}

func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get("X-EKYC-SECRET")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.secret)) == 1
}

// gate runs the checks shared by every endpoint after the body is valid:
// requestId reuse and quota. It answers and returns false when the call
// must stop.
func (s *Server) gate(w http.ResponseWriter, r *http.Request, endpoint, requestID string) bool {
	if s.engine.SeenRequestID(requestID, RequestIDWindow) {
		s.engine.Count(endpoint, "duplicate_request_id")
		writeError(w, r, codeRequestIDReused, "")
		return false
	}
	if s.overQuota() {
		s.engine.Count(endpoint, "quota")
		writeError(w, r, codeQuotaReached, "")
		return false
	}
	return true
}

// answerFault writes the answers that look the same on every endpoint and
// reports whether it wrote one. ok is the success body, for truncation.
func answerFault(w http.ResponseWriter, r *http.Request, f emulator.Fault, ok any, done func(string)) bool {
	switch f {
	case emulator.FaultThrottle:
		writeError(w, r, codeRateLimited, "")
		done("throttled")
	case emulator.FaultServerError:
		writeError(w, r, codeUnknownError, "")
		done("server_error")
	case emulator.FaultNotJSON:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		done("not_json")
	case emulator.FaultTruncated:
		b, _ := json.Marshal(ok)
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b[:len(b)/2])
		done("truncated")
	default:
		return false
	}
	return true
}

func (s *Server) serveDocument(w http.ResponseWriter, r *http.Request, endpoint string) {
	req, rerr := parseDocument(r)
	if rerr != nil {
		s.engine.Count(endpoint, "bad_request")
		writeError(w, r, rerr.code, rerr.detail)
		return
	}
	if !s.gate(w, r, endpoint, req.requestID) {
		return
	}
	fault, done := s.engine.Admit(r.Context(), endpoint, req.data)
	d := emulator.Derive(req.data)
	img := documentImage{UID: newUID(32), Name: req.image.Name, InferResult: "SUCCESS", Message: "SUCCESS", IsGrayScale: isGrayScale(d)}
	if endpoint == EndpointBizLicense {
		img.BizLicense, img.InferDetailType, img.InferDetailResource = renderBizLicense(d)
	} else {
		img.IDCard, img.InferDetailType, img.InferDetailResource = renderIDCard(d, idKindOf(req.data))
		img.Face = &faceResult{Result: "SUCCESS", Message: "Success"}
		if !bytes.Contains(req.data, emulator.MarkerNoFace) {
			img.Face.Faces = []face{renderFace(d.SHA256, 548)}
		}
		img.Face.Count = len(img.Face.Faces)
	}
	resp := documentResponse{RequestID: req.requestID, Timestamp: time.Now().UnixMilli(), UID: newUID(26), Images: []documentImage{img}}
	if answerFault(w, r, fault, resp, done) {
		return
	}
	switch fault {
	case emulator.FaultFailure, emulator.FaultError:
		// A failed recognition carries no document objects.
		failed := documentImage{UID: img.UID, Name: img.Name, InferResult: "FAILURE", Message: "Document recognition failed."}
		outcome := "failure"
		if fault == emulator.FaultError {
			failed.InferResult, failed.Message, outcome = "ERROR", "Internal recognition error.", "error"
		}
		resp.Images = []documentImage{failed}
		writeJSON(w, http.StatusOK, resp)
		done(outcome)
		return
	}
	writeJSON(w, http.StatusOK, resp)
	done("ok")
}

// compareResponse is the Face Compare answer.
type compareResponse struct {
	RequestID            string   `json:"requestId"`
	UID                  string   `json:"uid"`
	Timestamp            int64    `json:"timestamp"`
	Result               string   `json:"result"`
	Message              string   `json:"message"`
	Similarity           *float64 `json:"similarity,omitempty"`
	SimilarityPercentage *float64 `json:"similarityPercentage,omitempty"`
	Faces                []face   `json:"faces"`
}

func (s *Server) serveCompare(w http.ResponseWriter, r *http.Request) {
	req, rerr := parseCompare(r)
	if rerr != nil {
		s.engine.Count(EndpointFaceCompare, "bad_request")
		writeError(w, r, rerr.code, rerr.detail)
		return
	}
	if !s.gate(w, r, EndpointFaceCompare, req.requestID) {
		return
	}
	fault, done := s.engine.Admit(r.Context(), EndpointFaceCompare, req.cardData)
	d := emulator.Derive(req.cardData)

	resp := compareResponse{RequestID: req.requestID, UID: newUID(26), Timestamp: time.Now().UnixMilli(), Faces: []face{}}
	var missing []string
	if bytes.Contains(req.cardData, emulator.MarkerNoFace) {
		missing = append(missing, "cardImage")
	} else {
		resp.Faces = append(resp.Faces, renderFace(d.SHA256+"card", 366))
	}
	if bytes.Contains(req.faceData, emulator.MarkerNoFace) {
		missing = append(missing, "faceImage")
	} else {
		resp.Faces = append(resp.Faces, renderFace(d.SHA256+"face", 120))
	}
	if len(missing) == 0 {
		sim := d.Similarity
		pct := sim * 100
		resp.Result, resp.Message, resp.Similarity, resp.SimilarityPercentage = "SUCCESS", "Success", &sim, &pct
	} else {
		resp.Result, resp.Message = "ERROR", "Face not detected: "+strings.Join(missing, ", ")
	}
	if answerFault(w, r, fault, resp, done) {
		return
	}
	switch {
	case fault == emulator.FaultFailure || fault == emulator.FaultError:
		// Face compare has no FAILURE: every recognition problem is ERROR.
		writeJSON(w, http.StatusOK, compareResponse{RequestID: resp.RequestID, UID: resp.UID, Timestamp: resp.Timestamp,
			Result: "ERROR", Message: "Face comparison failed.", Faces: []face{}})
		done("error")
	case len(missing) > 0:
		writeJSON(w, http.StatusOK, resp)
		done("no_face")
	default:
		writeJSON(w, http.StatusOK, resp)
		done("ok")
	}
}

// newUID is a random lowercase hex id of n characters, like the vendor's uid.
func newUID(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
