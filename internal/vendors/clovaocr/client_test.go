package clovaocr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// countingImage is an image that counts how often it is opened and how many
// bytes are read from it.
func countingImage(b []byte, opens, read *atomic.Int64) vendors.Image {
	return vendors.Image{Name: "doc", Format: "png", Size: int64(len(b)), Open: func(context.Context) (io.ReadCloser, error) {
		opens.Add(1)
		return io.NopCloser(readCounter{bytes.NewReader(b), read}), nil
	}}
}

type readCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// replay answers every call with one seed example, byte for byte, after
// checking the request against the API page.
func replay(t *testing.T, answer []byte, gotImage *[]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-OCR-SECRET") != "s3cret" {
			t.Errorf("X-OCR-SECRET = %q", r.Header.Get("X-OCR-SECRET"))
		}
		if !strings.HasPrefix(r.URL.Path, "/custom/v1/1/abc/document/") {
			t.Errorf("path %s", r.URL.Path)
		}
		var msg struct {
			Version, RequestID string
			Timestamp          int64
			Images             []struct{ Format, Name, Data string }
		}
		ct := r.Header.Get("Content-Type")
		switch {
		case ct == "application/json":
			if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
				t.Errorf("json body: %v", err)
			}
			if len(msg.Images) == 1 {
				*gotImage, _ = base64.StdEncoding.DecodeString(msg.Images[0].Data)
			}
		case strings.HasPrefix(ct, "multipart/form-data"):
			if err := json.Unmarshal([]byte(r.FormValue("message")), &msg); err != nil {
				t.Errorf("message part: %v", err)
			}
			f, _, err := r.FormFile("file")
			if err != nil {
				t.Errorf("file part: %v", err)
			} else {
				*gotImage, _ = io.ReadAll(f)
			}
		default:
			t.Errorf("content type %q", ct)
		}
		if msg.Version != "V2" || len(msg.Images) != 1 || msg.Images[0].Format != "png" || msg.Images[0].Name != "doc" {
			t.Errorf("message %+v", msg)
		}
		if _, err := uuid.Parse(msg.RequestID); err != nil {
			t.Errorf("requestId %q is no UUID", msg.RequestID)
		}
		if d := time.Since(time.UnixMilli(msg.Timestamp)); d < 0 || d > time.Minute {
			t.Errorf("timestamp %d not now", msg.Timestamp)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRecognizeReplaysSeeds(t *testing.T) {
	for _, mode := range []string{ModeMultipart, ModeJSON} {
		for _, tc := range []struct{ docType, file, path string }{
			{result.TypeReceipt, "receipt.json", "totalPrice.value"},
			{result.TypeIDCard, "id-card.json", "personalNumber.value"},
			{result.TypePassport, "passport.json", "passportNumber.value"},
		} {
			t.Run(mode+"/"+tc.docType, func(t *testing.T) {
				var got []byte
				srv := replay(t, seed(t, tc.file), &got)
				c, err := New(Options{URL: srv.URL + "/custom/v1/1/abc/", Secret: "s3cret", Mode: mode})
				if err != nil {
					t.Fatal(err)
				}
				img := vendortest.PNG(7, bytes.Repeat([]byte{0, 1, 2}, 100000))
				var opens, read atomic.Int64
				resp, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: tc.docType,
					Image: countingImage(img, &opens, &read), KeepRaw: true})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, img) {
					t.Errorf("vendor got %d bytes, want the %d-byte image", len(got), len(img))
				}
				if opens.Load() != 1 || read.Load() != int64(len(img)) {
					t.Errorf("image opened %d times, %d bytes read", opens.Load(), read.Load())
				}
				if resp.Endpoint != "document/"+tc.docType || resp.UID == "" {
					t.Errorf("response %+v", resp)
				}
				if _, err := uuid.Parse(resp.RequestID); err != nil {
					t.Errorf("RequestID %q", resp.RequestID)
				}
				b, _ := json.Marshal(resp.Fields)
				var v any
				_ = json.Unmarshal(b, &v)
				if _, ok := vendortest.Lookup(v, tc.path); !ok {
					t.Errorf("%s missing in %s", tc.path, b)
				}
				if strings.Contains(string(resp.Raw), "1062372") || strings.Contains(string(resp.Raw), "M123A4567") {
					t.Error("raw not masked")
				}
			})
		}
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       string
		header     string
		code       ocrerr.Code
		retryable  bool
		throttle   bool
		halt       bool
		retryAfter time.Duration
	}{
		{"rate limit is 400 0025", 400, `{"code":"0025","message":"Calls to this api have exceeded the rate limit.","path":"/x","traceId":"t","timestamp":1}`, "", ocrerr.RateLimited, true, true, false, 0},
		{"quota 0023", 400, `{"code":"0023","message":"API request count reach the upper limit."}`, "", ocrerr.QuotaExhausted, false, false, true, 0},
		{"bad secret 401 0002", 401, `{"code":"0002","message":"Secret key validate failed."}`, "", ocrerr.VendorAuth, false, false, true, 0},
		{"bad body 0011", 400, `{"code":"0011","message":"Request body invalid."}`, "", ocrerr.VendorRejected, false, false, false, 0},
		{"domain 0022", 400, `{"code":"0022"}`, "", ocrerr.VendorRejected, false, false, false, 0},
		{"0500", 500, `{"code":"0500"}`, "", ocrerr.VendorUnavailable, true, false, false, 0},
		{"0501", 500, `{"code":"0501"}`, "", ocrerr.VendorUnavailable, true, false, false, 0},
		{"1021", 500, `{"code":"1021"}`, "", ocrerr.VendorUnavailable, true, false, false, 0},
		{"gateway 502 html", 502, `<html>bad gateway</html>`, "", ocrerr.VendorUnavailable, true, false, false, 0},
		{"429 retry-after", 429, ``, "7", ocrerr.RateLimited, true, true, false, 7 * time.Second},
		{"200 not json", 200, `not json`, "", ocrerr.InvalidResponse, true, false, false, 0},
		{"200 truncated", 200, `{"version":"V2","images":[{"uid":"x","inferResult":"SUCC`, "", ocrerr.InvalidResponse, true, false, false, 0},
		{"inferResult FAILURE", 200, `{"images":[{"uid":"x","inferResult":"FAILURE","message":"fail"}]}`, "", ocrerr.RecognitionFailed, false, false, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, _ := New(Options{URL: srv.URL, Secret: "s3cret-value"})
			_, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeReceipt,
				Image: vendortest.BytesImage("doc", "png", vendortest.PNG(1, nil))})
			e, ok := ocrerr.As(err)
			if !ok {
				t.Fatalf("err = %v", err)
			}
			if e.Code != tc.code || e.Retryable != tc.retryable || e.Throttle != tc.throttle || e.Halt != tc.halt || e.RetryAfter != tc.retryAfter {
				t.Errorf("got %v retryable=%v throttle=%v halt=%v retryAfter=%v", e, e.Retryable, e.Throttle, e.Halt, e.RetryAfter)
			}
			if e.HTTPStatus != tc.status {
				t.Errorf("HTTPStatus = %d", e.HTTPStatus)
			}
			if strings.Contains(e.Error(), "s3cret-value") {
				t.Error("secret in error")
			}
		})
	}
}

func TestNetworkErrorsAndValidation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // nothing listens any more
	c, _ := New(Options{URL: url, Secret: "x"})
	req := &vendors.Request{DocumentType: result.TypeReceipt, Image: vendortest.BytesImage("doc", "png", vendortest.PNG(1, nil))}
	_, err := c.Recognize(context.Background(), req)
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.VendorUnavailable || !e.Retryable {
		t.Errorf("refused connection: %v", err)
	}
	req.Image.Format = "gif"
	if _, err := c.Recognize(context.Background(), req); !isCode(err, ocrerr.UnsupportedFormat) {
		t.Errorf("gif: %v", err)
	}
	req.Image.Format, req.DocumentType = "png", result.TypeFaceCompare
	if _, err := c.Recognize(context.Background(), req); !isCode(err, ocrerr.UnknownDocumentType) {
		t.Errorf("face-compare: %v", err)
	}
	for _, o := range []Options{{URL: "", Secret: "x"}, {URL: "http://h", Secret: ""}, {URL: "http://h", Secret: "x", Mode: "xml"}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestImageReadFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	c, _ := New(Options{URL: srv.URL, Secret: "x", Mode: ModeJSON})
	img := vendors.Image{Name: "doc", Format: "png", Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader("partial"), errReader{})), nil
	}}
	_, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeReceipt, Image: img})
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.StorageUnavailable || !e.Retryable {
		t.Errorf("err = %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func isCode(err error, c ocrerr.Code) bool {
	e, ok := ocrerr.As(err)
	return ok && e.Code == c
}
