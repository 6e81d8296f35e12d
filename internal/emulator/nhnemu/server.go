// Package nhnemu emulates NHN Cloud's Document OCR API v2.0 (seed 001) with
// real envelope cryptography: its own RSA key pair per service, AES-256-CBC
// images and values. It validates strictly and answers in the vendor's shape,
// HTTP 200 with header{isSuccessful:false, resultCode, resultMessage} even on
// failure (shared/seeds/README.md).
package nhnemu

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sync"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

// Result codes answered (shared/seeds/README.md). The 50030xx recognition
// failures are not itemized anywhere we have; the two chosen here stand for
// "could not read" and "reading crashed".
const (
	codeOK                  = 0
	codeInvalidParameter    = 4000001
	codeInvalidFile         = 4000002
	codeInvalidFileType     = 4000003
	codeEmptyFile           = 4000004
	codeMissingHeader       = 4000005
	codeCallLimitExceeded   = 4000006
	codeRequestKeyInvalid   = 4000122
	codeInvalidKeyVersion   = 4000301
	codeInvalidSymmetricKey = 4000302
	codeInvalidEncrypted    = 4000303
	codeInvalidAppKey       = 4010001
	codeMaxUploadExceeded   = 4131000
	codeUnavailable         = 5000503
	CodeRecognitionFailed   = 5003001
	CodeRecognitionError    = 5003002
)

var messages = map[int]string{
	codeOK:                  "SUCCESS",
	codeInvalidParameter:    "INVALID_PARAMETER",
	codeInvalidFile:         "INVALID_FILE",
	codeInvalidFileType:     "INVALID_FILE_TYPE",
	codeEmptyFile:           "EMPTY_FILE",
	codeMissingHeader:       "MISSING_REQUIRED_HEADER",
	codeCallLimitExceeded:   "API_CALL_LIMIT_EXCEEDED",
	codeRequestKeyInvalid:   "INVALID_REQUEST_KEY",
	codeInvalidKeyVersion:   "INVALID_KEY_VERSION",
	codeInvalidSymmetricKey: "INVALID_SYMMETRIC_KEY",
	codeInvalidEncrypted:    "INVALID_ENCRYPTED_DATA",
	codeInvalidAppKey:       "INVALID_APPKEY_OR_SECRETKEY",
	codeMaxUploadExceeded:   "MAX_UPLOAD_SIZE_EXCEEDED",
	codeUnavailable:         "API_TEMPORARILY_UNAVAILABLE",
	CodeRecognitionFailed:   "RECOGNITION_FAILED",
	CodeRecognitionError:    "RECOGNITION_ERROR",
}

// Services (public key names) and endpoints (after /v2.0/appkeys/{appKey}/).
const (
	ServiceCreditCard    = "credit-card"
	ServiceIDCard        = "id-card"
	EndpointCreditCard   = "credit-card"
	EndpointIDCard       = "id-card"
	EndpointAuthenticity = "id-card/authenticity"
	EndpointStandAlone   = "id-card/stand-alone"
)

// Markers choose the identity document an image shows (resident card when
// none): the seed's idType values resident, driver and passport.
var (
	MarkerDriver   = []byte("EMULATOR:IDTYPE=driver")
	MarkerPassport = []byte("EMULATOR:IDTYPE=passport")
)

// DefaultMaxUpload is NHN's MAX_UPLOAD_SIZE_EXCEEDED limit (20 MB).
const DefaultMaxUpload = 20 << 20

// RequestKeyTTL is how long a Request-Key is valid (seed: 1 hour).
const RequestKeyTTL = time.Hour

// Options configure an emulated account.
type Options struct {
	AppKey   string
	Secret   string
	Behavior emulator.Behavior
	// KeyVersion is the first public key version (the seed shows "0");
	// RotateKey counts up from it.
	KeyVersion int
	KeyBits    int              // RSA key size; default 2048
	PKCS1      bool             // serve public keys as PKCS #1 instead of SubjectPublicKeyInfo
	MaxUpload  int64            // bytes of encrypted image accepted; default DefaultMaxUpload
	Now        func() time.Time // clock for Request-Key expiry; default time.Now
}

// Server is the emulated NHN OCR API. Mount it at the base URL (it serves
// /v2.0/appkeys/...). Safe for concurrent use.
type Server struct {
	o      Options
	engine *emulator.Engine
	mux    *http.ServeMux

	mu          sync.Mutex
	version     int
	keys        map[string]*keyPair // service -> current key
	requestKeys map[string]*requestKey
}

// requestKey is an issued Request-Key and what the id-card call recognized,
// which the authenticity call is checked against.
type requestKey struct {
	issued time.Time
	used   bool
	doc    emulator.Doc
	idType string
	forged bool
}

// New generates the key pairs and returns the server.
func New(o Options) (*Server, error) {
	if o.AppKey == "" || o.Secret == "" {
		return nil, errors.New("nhnemu: AppKey and Secret are required")
	}
	if o.KeyBits == 0 {
		o.KeyBits = 2048
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, engine: emulator.NewEngine(o.Behavior), version: o.KeyVersion - 1, requestKeys: map[string]*requestKey{}}
	if err := s.RotateKey(); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /v2.0/appkeys/{appKey}/public-keys/{service}", s.publicKey)
	s.mux.HandleFunc("POST /v2.0/appkeys/{appKey}/credit-card", s.analyze(ServiceCreditCard, EndpointCreditCard))
	s.mux.HandleFunc("POST /v2.0/appkeys/{appKey}/id-card", s.analyze(ServiceIDCard, EndpointIDCard))
	s.mux.HandleFunc("POST /v2.0/appkeys/{appKey}/id-card/stand-alone", s.analyze(ServiceIDCard, EndpointStandAlone))
	s.mux.HandleFunc("POST /v2.0/appkeys/{appKey}/id-card/authenticity", s.authenticity)
	return s, nil
}

// Engine is the shared behavior/fault/counting core.
func (s *Server) Engine() *emulator.Engine { return s.engine }

// RotateKey replaces every service's key pair with a new one of the next
// version: clients holding the old version get INVALID_KEY_VERSION.
func (s *Server) RotateKey() error {
	next := map[string]*keyPair{}
	s.mu.Lock()
	version := s.version + 1
	s.mu.Unlock()
	for _, svc := range []string{ServiceCreditCard, ServiceIDCard} {
		k, err := newKeyPair(s.o.KeyBits, version)
		if err != nil {
			return err
		}
		next[svc] = k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version, s.keys = version, next
	return nil
}

// KeyVersion is the current public key version.
func (s *Server) KeyVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.version)
}

func (s *Server) key(service string) *keyPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[service]
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.engine.Count(r.URL.Path, "rejected")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(envelopeJSON{Header: header{ResultCode: codeInvalidParameter, ResultMessage: "NOT_FOUND"}})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Wire shapes.

type header struct {
	IsSuccessful  bool   `json:"isSuccessful"`
	ResultCode    int    `json:"resultCode"`
	ResultMessage string `json:"resultMessage"`
}

type envelopeJSON struct {
	Header header `json:"header"`
	Result any    `json:"result,omitempty"`
}

// fail answers the vendor's error shape, HTTP 200, and counts the call.
func (s *Server) fail(w http.ResponseWriter, endpoint string, code int) {
	s.engine.Count(endpoint, fmt.Sprint("rejected:", code))
	writeAnswer(w, code, nil)
}

func writeAnswer(w http.ResponseWriter, code int, res any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(envelopeJSON{
		Header: header{IsSuccessful: code == codeOK, ResultCode: code, ResultMessage: messages[code]},
		Result: res,
	})
}

// authorized checks the appKey in the path and the Authorization secret.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	secret := r.Header.Get("Authorization")
	switch {
	case r.PathValue("appKey") != s.o.AppKey:
		s.fail(w, endpoint, codeInvalidAppKey)
	case secret == "":
		s.fail(w, endpoint, codeMissingHeader)
	case secret != s.o.Secret:
		s.fail(w, endpoint, codeInvalidAppKey)
	default:
		return true
	}
	return false
}

func (s *Server) publicKey(w http.ResponseWriter, r *http.Request) {
	const endpoint = "public-keys"
	if !s.authorized(w, r, endpoint) {
		return
	}
	k := s.key(r.PathValue("service"))
	if k == nil {
		s.fail(w, endpoint, codeInvalidParameter)
		return
	}
	s.engine.Count(endpoint, "ok")
	writeAnswer(w, codeOK, map[string]string{"key": k.publicKey(s.o.PKCS1), "version": k.version})
}

// openEnvelope checks X-Key-Version and Symmetric-Key and returns the AES
// key, or answers the error and returns nil.
func (s *Server) openEnvelope(w http.ResponseWriter, r *http.Request, service, endpoint string) []byte {
	version, sealed := r.Header.Get("X-Key-Version"), r.Header.Get("Symmetric-Key")
	if version == "" || sealed == "" {
		s.fail(w, endpoint, codeMissingHeader)
		return nil
	}
	k := s.key(service)
	if version != k.version {
		s.fail(w, endpoint, codeInvalidKeyVersion)
		return nil
	}
	key, err := k.openKey(sealed)
	if err != nil {
		s.fail(w, endpoint, codeInvalidSymmetricKey)
		return nil
	}
	// A symmetric key seen before means a client reused one: recorded as a
	// duplicate "request id" so tests can prove a fresh key per request.
	sum := sha256.Sum256(key)
	s.engine.SeenRequestID(hex.EncodeToString(sum[:]), 0)
	return key
}

// readImage reads the multipart "image" field and decrypts it.
func (s *Server) readImage(w http.ResponseWriter, r *http.Request, key []byte, endpoint string) []byte {
	if r.ContentLength > s.o.MaxUpload+64<<10 {
		s.fail(w, endpoint, codeMaxUploadExceeded)
		return nil
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		s.fail(w, endpoint, codeInvalidParameter)
		return nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var ct []byte
	found := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.fail(w, endpoint, codeInvalidParameter)
			return nil
		}
		if p.FormName() != "image" {
			_, _ = io.Copy(io.Discard, p)
			continue
		}
		if found {
			s.fail(w, endpoint, codeInvalidParameter) // one image per call
			return nil
		}
		found = true
		ct, err = io.ReadAll(io.LimitReader(p, s.o.MaxUpload+1))
		if err != nil {
			s.fail(w, endpoint, codeInvalidFile)
			return nil
		}
		if int64(len(ct)) > s.o.MaxUpload {
			s.fail(w, endpoint, codeMaxUploadExceeded)
			return nil
		}
	}
	switch {
	case !found:
		s.fail(w, endpoint, codeInvalidFile)
		return nil
	case len(ct) == 0:
		s.fail(w, endpoint, codeEmptyFile)
		return nil
	}
	img, err := decrypt(key, ct)
	if err != nil {
		s.fail(w, endpoint, codeInvalidEncrypted)
		return nil
	}
	if len(img) == 0 {
		s.fail(w, endpoint, codeEmptyFile)
		return nil
	}
	if fileType(img) == "" {
		s.fail(w, endpoint, codeInvalidFileType)
		return nil
	}
	return img
}

// fileType is the seed's fileType: only jpg and png are read.
func fileType(img []byte) string {
	switch {
	case bytes.HasPrefix(img, []byte{0xFF, 0xD8, 0xFF}):
		return "jpg"
	case bytes.HasPrefix(img, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	}
	return ""
}

// admit runs the engine and answers a fault; ok reports whether the caller
// should answer success (and then call done).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, endpoint string, image []byte) (emulator.Fault, func(string), bool) {
	fault, done := s.engine.Admit(r.Context(), endpoint, image)
	switch fault {
	case emulator.FaultNone, emulator.FaultNotJSON, emulator.FaultTruncated:
		return fault, done, true
	case emulator.FaultThrottle:
		writeAnswer(w, codeCallLimitExceeded, nil)
		done("throttled")
	case emulator.FaultServerError:
		writeAnswer(w, codeUnavailable, nil)
		done("server_error")
	case emulator.FaultFailure:
		writeAnswer(w, CodeRecognitionFailed, nil)
		done("failure")
	case emulator.FaultError:
		writeAnswer(w, CodeRecognitionError, nil)
		done("error")
	}
	return fault, nil, false
}

// answer writes a success, or the NotJSON/Truncated faults of it.
func answer(w http.ResponseWriter, fault emulator.Fault, res any) string {
	body, err := json.Marshal(envelopeJSON{Header: header{IsSuccessful: true, ResultMessage: messages[codeOK]}, Result: res})
	if err != nil {
		panic(err)
	}
	switch {
	case fault == emulator.FaultNotJSON:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		return "not_json"
	case fault == emulator.FaultTruncated:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write(body[:len(body)/2])
		return "truncated"
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_, _ = w.Write(body)
	return "ok"
}

func (s *Server) analyze(service, endpoint string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(w, r, endpoint) {
			return
		}
		key := s.openEnvelope(w, r, service, endpoint)
		if key == nil {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxUpload+64<<10)
		img := s.readImage(w, r, key, endpoint)
		if img == nil {
			return
		}
		fault, done, ok := s.admit(w, r, endpoint, img)
		if !ok {
			return
		}
		d := emulator.Derive(img)
		var res any
		if service == ServiceCreditCard {
			res = renderCreditCard(d, img, key)
		} else {
			idType := idTypeOf(img)
			res = renderIDCard(d, idType, img, key)
			if endpoint == EndpointIDCard {
				rk := s.issueRequestKey(d, idType, bytes.Contains(img, emulator.MarkerNotAuthentic))
				w.Header().Set("Request-Key", rk)
			}
		}
		done(answer(w, fault, res))
	}
}

func idTypeOf(img []byte) string {
	switch {
	case bytes.Contains(img, MarkerDriver):
		return "driver"
	case bytes.Contains(img, MarkerPassport):
		return "passport"
	}
	return "resident"
}

func (s *Server) issueRequestKey(d emulator.Doc, idType string, forged bool) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	k := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	for id, rk := range s.requestKeys { // forget what can never be used again
		if now.Sub(rk.issued) > RequestKeyTTL {
			delete(s.requestKeys, id)
		}
	}
	s.requestKeys[k] = &requestKey{issued: now, doc: d, idType: idType, forged: forged}
	return k
}

// takeRequestKey returns a usable Request-Key's record (not yet marking it used).
func (s *Server) takeRequestKey(k string) *requestKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	rk := s.requestKeys[k]
	if rk == nil || rk.used || s.o.Now().Sub(rk.issued) > RequestKeyTTL {
		return nil
	}
	return rk
}

// markUsed consumes a Request-Key; false if a concurrent call consumed it.
func (s *Server) markUsed(rk *requestKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rk.used {
		return false
	}
	rk.used = true
	return true
}

func (s *Server) authenticity(w http.ResponseWriter, r *http.Request) {
	const endpoint = EndpointAuthenticity
	if !s.authorized(w, r, endpoint) {
		return
	}
	if r.Header.Get("Request-Key") == "" {
		s.fail(w, endpoint, codeMissingHeader)
		return
	}
	key := s.openEnvelope(w, r, ServiceIDCard, endpoint)
	if key == nil {
		return
	}
	rk := s.takeRequestKey(r.Header.Get("Request-Key"))
	if rk == nil {
		s.fail(w, endpoint, codeRequestKeyInvalid)
		return
	}
	var body map[string]string
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		s.fail(w, endpoint, codeInvalidParameter)
		return
	}
	sent, code := checkFields(body, key)
	if code != codeOK {
		s.fail(w, endpoint, code)
		return
	}
	fault, done, ok := s.admit(w, r, endpoint, nil)
	if !ok {
		return
	}
	if !s.markUsed(rk) {
		writeAnswer(w, codeRequestKeyInvalid, nil)
		done("rejected")
		return
	}
	authentic := !rk.forged && sent.matches(expectedFields(rk.doc, rk.idType))
	done(answer(w, fault, map[string]bool{"isAuthenticity": authentic}))
}
