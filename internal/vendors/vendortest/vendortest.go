// Package vendortest is the one conformance suite every vendor client
// passes against its emulator (as river's riverdrivertest is for drivers):
// recognition of every supported type into the normalized, masked result-v1
// fields, the error classes (throttle, server error, recognition failure,
// unreadable answers, bad credentials, timeouts) and requestId freshness.
// New semantics go into this suite so every vendor is held to them.
package vendortest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Harness connects the suite to one vendor client and its emulator.
type Harness struct {
	// Driver is the vendor's description of itself; the client must agree
	// with it (kind, formats, the types it reads).
	Driver *vendors.Driver
	// Client returns a client that talks to the emulator; goodSecret false
	// returns one whose credentials the emulator rejects.
	Client func(t testing.TB, goodSecret bool) vendors.Client
	// Types are the document types to exercise; every one must be
	// Supported by the client. Empty: every result.DocumentTypes entry the
	// client supports.
	Types []string
	// Engine is the emulator's engine: the suite sets its Behavior and
	// reads its Stats. The suite resets it and leaves a zero Behavior.
	Engine *emulator.Engine
	// Image makes a test image from a seed, with extra bytes (fault
	// markers) inside; nil means PNG. Format is its format ("png" if empty).
	Image  func(seed int, extra []byte) []byte
	Format string
	// VendorMasked lists JSON paths ("personalNumber.value") the vendor
	// itself masks before answering (CLOVA OCR's 2026 id-card answers
	// "800***-234****"). There the suite accepts any value of the expected
	// length that agrees with the expected one wherever it shows a
	// character instead of '*': the client cannot unmask what it never got.
	VendorMasked []string
	// ClientAt returns a client with good credentials whose base URL is the
	// given loopback server instead of the emulator's root (append the
	// path prefix the client's URL has under the emulator, if any).
	// Upstream is the emulator server's root URL. The redirect checks put
	// a redirecting server between the two.
	ClientAt func(t testing.TB, base string) vendors.Client
	Upstream string
}

func (h *Harness) image(seed int, extra []byte) vendors.Image {
	mk := h.Image
	if mk == nil {
		mk = PNG
	}
	format := h.Format
	if format == "" {
		format = "png"
	}
	return BytesImage("conformance-"+strconv.Itoa(seed), format, mk(seed, extra))
}

// BytesImage wraps in-memory bytes as a vendors.Image.
func BytesImage(name, format string, b []byte) vendors.Image {
	return vendors.Image{Name: name, Format: format, Size: int64(len(b)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

// Exercise runs the conformance suite. Subtests run one after another:
// they share the emulator's Behavior.
func Exercise(t *testing.T, h Harness) {
	t.Helper()
	if h.Client == nil || h.Engine == nil || h.ClientAt == nil || h.Upstream == "" {
		t.Fatal("vendortest: Harness needs Client, Engine, ClientAt and Upstream")
	}
	good := h.Client(t, true)
	types := h.Types
	if len(types) == 0 {
		for _, dt := range result.DocumentTypes {
			if good.Supports(dt) {
				types = append(types, dt)
			}
		}
	}
	if len(types) == 0 {
		t.Fatal("vendortest: client supports no document type")
	}
	h.Engine.Reset()
	h.Engine.SetBehavior(emulator.Behavior{})
	t.Cleanup(func() { h.Engine.SetBehavior(emulator.Behavior{}) })
	seed := 0
	next := func() int { seed++; return seed }
	requestIDs := map[string]bool{}
	recordID := func(t *testing.T, resp *vendors.Response) {
		if resp.RequestID == "" {
			return
		}
		if requestIDs[resp.RequestID] {
			t.Errorf("requestId %q returned twice", resp.RequestID)
		}
		requestIDs[resp.RequestID] = true
	}
	newReq := func(dt string, img vendors.Image) *vendors.Request {
		req := &vendors.Request{DocumentType: dt, Image: img}
		if dt == result.TypeFaceCompare {
			face := h.image(next()+10000, nil)
			req.Face = &face
		}
		return req
	}

	t.Run("Identity", func(t *testing.T) {
		if h.Driver == nil {
			t.Fatal("Harness.Driver is nil")
		}
		if k := good.Kind(); k != h.Driver.Kind {
			t.Errorf("Kind() = %q, the driver says %q", k, h.Driver.Kind)
		}
		if f := good.Formats(); len(f) == 0 || !slices.Equal(f, h.Driver.Formats) {
			t.Errorf("Formats() = %v, the driver says %v", f, h.Driver.Formats)
		}
		for _, dt := range result.DocumentTypes {
			if good.Supports(dt) != h.Driver.Reads(dt) {
				t.Errorf("Supports(%q) = %v, the driver says %v", dt, good.Supports(dt), h.Driver.Reads(dt))
			}
		}
		for _, dt := range types {
			if !good.Supports(dt) {
				t.Errorf("Supports(%q) = false for a type under test", dt)
			}
		}
		if good.Supports("no-such-type") {
			t.Error(`Supports("no-such-type") = true`)
		}
	})

	for _, dt := range types {
		t.Run("Recognize/"+dt, func(t *testing.T) {
			img := h.image(next(), nil)
			raw := readAll(t, img)
			resp := recognizeOK(t, good, newReq(dt, img))
			recordID(t, resp)
			if resp.Endpoint == "" {
				t.Error("Response.Endpoint is empty")
			}
			if resp.Raw != nil {
				t.Error("Response.Raw set without KeepRaw")
			}
			wantType := reflect.TypeOf(vendors.FieldsType(dt))
			if reflect.TypeOf(resp.Fields) != wantType {
				t.Fatalf("Fields is %T, want %v", resp.Fields, wantType)
			}
			assertPaths(t, resp.Fields, Expect(dt, emulator.Derive(raw)), h.VendorMasked)
		})
		if pii := ExpectPII(dt, emulator.Doc{}); pii != nil {
			t.Run("PII/"+dt, func(t *testing.T) {
				img := h.image(next(), nil)
				raw := readAll(t, img)
				req := newReq(dt, img)
				req.PII, req.KeepRaw = true, true
				resp := recognizeOK(t, good, req)
				recordID(t, resp)
				assertPaths(t, resp.Fields, ExpectPII(dt, emulator.Derive(raw)), h.VendorMasked)
				if len(resp.Raw) == 0 || !json.Valid(resp.Raw) {
					t.Errorf("KeepRaw gave no valid raw JSON (%d bytes)", len(resp.Raw))
				}
			})
			t.Run("MaskedRaw/"+dt, func(t *testing.T) {
				img := h.image(next(), nil)
				d := emulator.Derive(readAll(t, img))
				req := newReq(dt, img)
				req.KeepRaw = true
				resp := recognizeOK(t, good, req)
				recordID(t, resp)
				for path, whole := range ExpectPII(dt, d) {
					s := fmt.Sprint(whole)
					if strings.Contains(string(resp.Raw), s) {
						t.Errorf("raw answer holds the whole %s", path)
					}
					if b, _ := json.Marshal(resp.Fields); strings.Contains(string(b), s) {
						t.Errorf("masked fields hold the whole %s", path)
					}
				}
			})
		}
	}

	dt := types[0]
	fault := func(name string, b emulator.Behavior, marker []byte, check func(t *testing.T, e *ocrerr.Error)) {
		t.Run("Fault/"+name, func(t *testing.T) {
			h.Engine.SetBehavior(b)
			defer h.Engine.SetBehavior(emulator.Behavior{})
			_, err := good.Recognize(context.Background(), newReq(dt, h.image(next(), marker)))
			e := classified(t, err)
			if e != nil {
				check(t, e)
			}
		})
	}
	fault("Throttle", emulator.Behavior{ThrottleRate: 1}, nil, func(t *testing.T, e *ocrerr.Error) {
		want(t, e, ocrerr.RateLimited, true)
		if !e.Throttle || e.Halt {
			t.Errorf("throttle answer: Throttle=%v Halt=%v", e.Throttle, e.Halt)
		}
	})
	fault("ServerError", emulator.Behavior{}, emulator.MarkerServerError, func(t *testing.T, e *ocrerr.Error) {
		want(t, e, ocrerr.VendorUnavailable, true)
		if e.Throttle || e.Halt {
			t.Errorf("server error: Throttle=%v Halt=%v", e.Throttle, e.Halt)
		}
	})
	fault("RecognitionFailure", emulator.Behavior{}, emulator.MarkerFailure, func(t *testing.T, e *ocrerr.Error) {
		want(t, e, ocrerr.RecognitionFailed, false)
	})
	fault("RecognitionError", emulator.Behavior{}, emulator.MarkerError, func(t *testing.T, e *ocrerr.Error) {
		want(t, e, ocrerr.RecognitionFailed, false)
	})
	fault("NotJSON", emulator.Behavior{}, emulator.MarkerNotJSON, func(t *testing.T, e *ocrerr.Error) {
		want(t, e, ocrerr.InvalidResponse, true)
	})
	fault("Truncated", emulator.Behavior{}, emulator.MarkerTruncated, func(t *testing.T, e *ocrerr.Error) {
		want(t, e, ocrerr.InvalidResponse, true)
	})

	t.Run("Fault/FlakyThenSuccess", func(t *testing.T) {
		img := h.image(next(), emulator.MarkerFlaky)
		_, err := good.Recognize(context.Background(), newReq(dt, img))
		if e := classified(t, err); e != nil {
			want(t, e, ocrerr.VendorUnavailable, true)
		}
		resp := recognizeOK(t, good, newReq(dt, img))
		recordID(t, resp)
	})

	t.Run("Fault/WrongSecret", func(t *testing.T) {
		bad := h.Client(t, false)
		_, err := bad.Recognize(context.Background(), newReq(dt, h.image(next(), nil)))
		if e := classified(t, err); e != nil {
			want(t, e, ocrerr.VendorAuth, false)
			if !e.Halt {
				t.Error("bad credentials must Halt the vendor account")
			}
		}
	})

	t.Run("Fault/Timeout", func(t *testing.T) {
		h.Engine.SetBehavior(emulator.Behavior{Latency: 3 * time.Second})
		defer h.Engine.SetBehavior(emulator.Behavior{})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := good.Recognize(ctx, newReq(dt, h.image(next(), nil)))
		if e := classified(t, err); e != nil {
			want(t, e, ocrerr.VendorUnavailable, true)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Recognize ignored the context deadline: took %v", el)
		}
	})

	t.Run("UnsupportedType", func(t *testing.T) {
		_, err := good.Recognize(context.Background(), newReq("no-such-type", h.image(next(), nil)))
		if e := classified(t, err); e != nil {
			want(t, e, ocrerr.UnknownDocumentType, false)
		}
	})

	t.Run("RefusesRedirects", func(t *testing.T) {
		exerciseRedirects(t, h, newReq(dt, h.image(next(), nil)))
	})

	t.Run("FreshRequestIDs", func(t *testing.T) {
		img := h.image(next(), nil)
		for i := 0; i < 3; i++ {
			resp := recognizeOK(t, good, newReq(dt, img))
			recordID(t, resp)
		}
		if n := h.Engine.Stats().DuplicateRequestIDs; n != 0 {
			t.Errorf("emulator saw %d reused requestIds", n)
		}
	})
}

func readAll(t testing.TB, img vendors.Image) []byte {
	t.Helper()
	rc, err := img.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func recognizeOK(t *testing.T, c vendors.Client, req *vendors.Request) *vendors.Response {
	t.Helper()
	resp, err := c.Recognize(context.Background(), req)
	if err != nil {
		t.Fatalf("Recognize(%s): %v", req.DocumentType, err)
	}
	if resp == nil || resp.Fields == nil {
		t.Fatalf("Recognize(%s): empty response", req.DocumentType)
	}
	return resp
}

// classified fails the test unless err is a non-nil *ocrerr.Error.
func classified(t *testing.T, err error) *ocrerr.Error {
	t.Helper()
	if err == nil {
		t.Error("Recognize succeeded; want an error")
		return nil
	}
	e, ok := ocrerr.As(err)
	if !ok {
		t.Errorf("error is not an *ocrerr.Error: %v", err)
		return nil
	}
	return e
}

func want(t *testing.T, e *ocrerr.Error, code ocrerr.Code, retryable bool) {
	t.Helper()
	if e.Code != code || e.Retryable != retryable {
		t.Errorf("error = %v (retryable %v); want code %s retryable %v", e, e.Retryable, code, retryable)
	}
}

// assertPaths checks that fields, as JSON, hold every path -> value of want.
func assertPaths(t *testing.T, fields any, want map[string]any, vendorMasked []string) {
	t.Helper()
	got := roundTrip(t, fields)
	for path, w := range want {
		v, ok := Lookup(got, path)
		if !ok {
			t.Errorf("%s: missing (fields %s)", path, compact(got))
			continue
		}
		wj := roundTrip(t, w)
		if slices.Contains(vendorMasked, path) {
			if !maskCompatible(v, wj) {
				t.Errorf("%s = %#v; want %#v or that with more '*'", path, v, wj)
			}
			continue
		}
		if !reflect.DeepEqual(v, wj) {
			t.Errorf("%s = %#v; want %#v", path, v, wj)
		}
	}
}

// maskCompatible: got has want's length and agrees with it wherever got is
// not '*'.
func maskCompatible(got, want any) bool {
	g, ok1 := got.(string)
	w, ok2 := want.(string)
	if !ok1 || !ok2 {
		return reflect.DeepEqual(got, want)
	}
	gr, wr := []rune(g), []rune(w)
	if len(gr) != len(wr) {
		return false
	}
	for i := range gr {
		if gr[i] != '*' && gr[i] != wr[i] {
			return false
		}
	}
	return true
}

// Lookup walks a decoded JSON value along a dot-separated path; list
// elements are addressed by index.
func Lookup(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func roundTrip(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 600 {
		b = append(b[:600], "..."...)
	}
	return string(b)
}
