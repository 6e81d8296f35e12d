package nhn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/emulator/nhnemu"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/nhn"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

func image(seed int, extra ...[]byte) (vendors.Image, emulator.Doc) {
	var x []byte
	for _, e := range extra {
		x = append(x, e...)
	}
	b := vendortest.PNG(seed, x)
	return vendortest.BytesImage(fmt.Sprint("t", seed), "png", b), emulator.Derive(b)
}

func recognize(t *testing.T, c vendors.Client, req *vendors.Request) *vendors.Response {
	t.Helper()
	resp, err := c.Recognize(context.Background(), req)
	if err != nil {
		t.Fatalf("Recognize: %v", err)
	}
	return resp
}

func calls(emu *nhnemu.Server, key string) int { return emu.Engine().Stats().Calls[key] }

func TestParityWithExpect(t *testing.T) {
	_, url := startEmulator(t, nhnemu.Options{})
	c := newClient(t, nhn.Options{URL: url})
	for seed := 100; seed < 110; seed++ {
		for _, dt := range []string{result.TypeCreditCard, result.TypeIDCard} {
			img, d := image(seed)
			for _, pii := range []bool{false, true} {
				resp := recognize(t, c, &vendors.Request{DocumentType: dt, Image: img, PII: pii})
				want := vendortest.Expect(dt, d)
				if pii {
					for k, v := range vendortest.ExpectPII(dt, d) {
						want[k] = v
					}
					delete(want, "personalNumber.text") // the text is whole too
					delete(want, "number.text")
				}
				b, _ := json.Marshal(resp.Fields)
				var got any
				_ = json.Unmarshal(b, &got)
				for path, w := range want {
					v, ok := vendortest.Lookup(got, path)
					if wb, _ := json.Marshal(w); !ok || string(mustJSON(v)) != string(wb) {
						t.Errorf("seed %d %s pii=%v: %s = %v, want %v", seed, dt, pii, path, v, w)
					}
				}
			}
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestStandAloneByDefault(t *testing.T) {
	emu, url := startEmulator(t, nhnemu.Options{})
	c := newClient(t, nhn.Options{URL: url})
	img, _ := image(1)
	resp := recognize(t, c, &vendors.Request{DocumentType: result.TypeIDCard, Image: img})
	if resp.Endpoint != "id-card/stand-alone" || resp.Fields.(*result.IDCard).Authenticity != nil {
		t.Fatalf("endpoint %q authenticity %v", resp.Endpoint, resp.Fields.(*result.IDCard).Authenticity)
	}
	if calls(emu, "id-card/stand-alone ok") != 1 || calls(emu, "id-card ok") != 0 {
		t.Fatalf("calls %v", emu.Engine().Stats().Calls)
	}
}

func TestAuthenticityChain(t *testing.T) {
	emu, url := startEmulator(t, nhnemu.Options{})
	perTask := newClient(t, nhn.Options{URL: url})
	always := newClient(t, nhn.Options{URL: url, Verify: true})
	cases := []struct {
		name      string
		client    *nhn.Client
		verify    bool
		marker    []byte
		idType    string
		authentic bool
	}{
		{"resident", perTask, true, nil, "resident", true},
		{"driver", perTask, true, nhnemu.MarkerDriver, "driver", true},
		{"passport", perTask, true, nhnemu.MarkerPassport, "passport", true},
		{"forged", perTask, true, emulator.MarkerNotAuthentic, "resident", false},
		{"forged driver", perTask, true, append(append([]byte{}, nhnemu.MarkerDriver...), emulator.MarkerNotAuthentic...), "driver", false},
		{"Options.Verify", always, false, nil, "resident", true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu.Engine().Reset()
			img, d := image(200+i, tc.marker)
			resp := recognize(t, tc.client, &vendors.Request{DocumentType: result.TypeIDCard, Image: img, Verify: tc.verify, KeepRaw: true})
			f := resp.Fields.(*result.IDCard)
			if resp.Endpoint != "id-card" || f.IDType != tc.idType {
				t.Fatalf("endpoint %q idType %q", resp.Endpoint, f.IDType)
			}
			if f.Authenticity == nil || !f.Authenticity.Checked || f.Authenticity.Authentic != tc.authentic {
				t.Fatalf("authenticity = %+v, want authentic %v", f.Authenticity, tc.authentic)
			}
			if calls(emu, "id-card ok") != 1 || calls(emu, "id-card/authenticity ok") != 1 {
				t.Fatalf("calls %v", emu.Engine().Stats().Calls)
			}
			switch tc.idType {
			case "driver":
				if f.LicenseNumber == nil || f.LicenseNumber.Value != strings.Join(append(strings.Split(d.LicenseNumber, "-")[:2], "******", strings.Split(d.LicenseNumber, "-")[3]), "-") {
					t.Errorf("licenseNumber = %+v (doc %s)", f.LicenseNumber, d.LicenseNumber)
				}
				if f.SerialNumber.Value != d.SerialNumber || f.LicenseType.Value != d.LicenseType || f.Condition != nil {
					t.Errorf("driver fields %+v %+v %+v", f.SerialNumber, f.LicenseType, f.Condition)
				}
			case "passport":
				if f.PassportNumber.Value != d.PassportNumber[:4]+"*****" || f.BirthDate.Value != d.BirthDate.ISO() ||
					f.ExpiryDate.Value != d.ExpiryDate.ISO() || f.Surname.Value != d.Surname || f.KoreanName.Value != d.Name {
					t.Errorf("passport fields %+v %+v %+v", f.PassportNumber, f.BirthDate, f.ExpiryDate)
				}
			}
			for _, whole := range []string{d.PersonalNumber, strings.ReplaceAll(d.PersonalNumber, "-", ""), d.LicenseNumber, d.PassportNumber} {
				if strings.Contains(string(resp.Raw), whole) || strings.Contains(string(mustJSON(f)), whole) {
					t.Errorf("a whole personal number reached the result or raw")
				}
			}
		})
	}
}

// TestStaleKeyRecovered: the vendor rotates its key between documents; the
// next document succeeds after one INVALID_KEY_VERSION and one key fetch.
func TestStaleKeyRecovered(t *testing.T) {
	emu, url := startEmulator(t, nhnemu.Options{})
	c := newClient(t, nhn.Options{URL: url})
	img, _ := image(300)
	recognize(t, c, &vendors.Request{DocumentType: result.TypeCreditCard, Image: img})
	if err := emu.RotateKey(); err != nil {
		t.Fatal(err)
	}
	img2, d := image(301)
	resp := recognize(t, c, &vendors.Request{DocumentType: result.TypeCreditCard, Image: img2, PII: true})
	if got := resp.Fields.(*result.CreditCard).Number.Value; got != d.CardNumber {
		t.Fatalf("number after rotation = %v", got)
	}
	st := emu.Engine().Stats().Calls
	if st["credit-card rejected:4000301"] != 1 || st["public-keys ok"] != 2 || st["credit-card ok"] != 2 {
		t.Fatalf("calls %v", st)
	}

	// The authenticity leg also survives a rotation between its two calls.
	rotating := &rotateAfter{next: emu, emu: emu, path: "/appkeys/" + testAppKey + "/id-card"}
	srv := httptest.NewServer(rotating)
	defer srv.Close()
	c2 := newClient(t, nhn.Options{URL: srv.URL, Verify: true})
	img3, _ := image(302)
	resp = recognize(t, c2, &vendors.Request{DocumentType: result.TypeIDCard, Image: img3})
	if a := resp.Fields.(*result.IDCard).Authenticity; a == nil || !a.Authentic {
		t.Fatalf("authenticity after mid-chain rotation = %+v", a)
	}
	if emu.Engine().Stats().Calls["id-card/authenticity rejected:4000301"] != 1 {
		t.Fatalf("calls %v", emu.Engine().Stats().Calls)
	}
}

// rotateAfter rotates the emulator's keys right after the first call whose
// path ends in path.
type rotateAfter struct {
	next http.Handler
	emu  *nhnemu.Server
	path string
	once sync.Once
}

func (h *rotateAfter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.next.ServeHTTP(w, r)
	if strings.HasSuffix(r.URL.Path, h.path) {
		h.once.Do(func() { _ = h.emu.RotateKey() })
	}
}

func TestConcurrentTasksFetchKeyOnce(t *testing.T) {
	emu, url := startEmulator(t, nhnemu.Options{Behavior: emulator.Behavior{Latency: 20 * time.Millisecond}})
	c := newClient(t, nhn.Options{URL: url})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, _ := image(400 + i)
			if _, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeCreditCard, Image: img}); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 || calls(emu, "public-keys ok") != 1 || calls(emu, "credit-card ok") != 16 {
		t.Fatalf("failed %d, calls %v", failed.Load(), emu.Engine().Stats().Calls)
	}
	if n := emu.Engine().Stats().DuplicateRequestIDs; n != 0 {
		t.Fatalf("%d symmetric keys reused", n)
	}
}

func TestKeyRefreshInterval(t *testing.T) {
	emu, url := startEmulator(t, nhnemu.Options{})
	c := newClient(t, nhn.Options{URL: url, KeyRefresh: time.Nanosecond})
	for i := 0; i < 3; i++ {
		img, _ := image(500 + i)
		recognize(t, c, &vendors.Request{DocumentType: result.TypeCreditCard, Image: img})
	}
	if got := calls(emu, "public-keys ok"); got != 3 {
		t.Fatalf("public key fetched %d times with an expired cache, want 3", got)
	}
}

// TestRequestKeyExpired: the Request-Key expires between the two calls; the
// error is retryable and the next attempt (the whole chain) succeeds.
func TestRequestKeyExpired(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	emu, err := nhnemu.New(nhnemu.Options{AppKey: testAppKey, Secret: testSecret, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	expire := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		emu.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/id-card") && expire {
			mu.Lock()
			now = now.Add(nhnemu.RequestKeyTTL + time.Second)
			mu.Unlock()
		}
	}))
	defer srv.Close()
	c := newClient(t, nhn.Options{URL: srv.URL})
	img, _ := image(600)
	req := &vendors.Request{DocumentType: result.TypeIDCard, Image: img, Verify: true}
	_, err = c.Recognize(context.Background(), req)
	e, ok := ocrerr.As(err)
	if !ok || !e.Retryable || e.VendorCode != "4000122" || e.Halt {
		t.Fatalf("expired Request-Key: %v", err)
	}
	expire = false
	if resp := recognize(t, c, req); !resp.Fields.(*result.IDCard).Authenticity.Authentic {
		t.Fatal("retry of the chain was not authentic")
	}
}

// fixedAnswer serves public keys from a real emulator and answers every
// analysis call with a fixed status, header and body.
func fixedAnswer(t *testing.T, status int, hdr http.Header, body string) (string, *atomic.Int32) {
	emu, err := nhnemu.New(nhnemu.Options{AppKey: testAppKey, Secret: testSecret, KeyBits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/public-keys/") {
			emu.ServeHTTP(w, r)
			return
		}
		n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func nhnError(code int) string {
	return fmt.Sprintf(`{"header":{"isSuccessful":false,"resultCode":%d,"resultMessage":"SOME_MESSAGE"}}`, code)
}

func TestErrorMapping(t *testing.T) {
	type want struct {
		code                      ocrerr.Code
		retryable, throttle, halt bool
		vendorCode                string
		sends                     int32
		retryAfter                time.Duration
	}
	cases := []struct {
		name   string
		status int
		hdr    http.Header
		body   string
		want   want
	}{
		{"limit", 200, nil, nhnError(4000006), want{ocrerr.RateLimited, true, true, false, "4000006", 1, 0}},
		{"bad appkey", 200, nil, nhnError(4010001), want{ocrerr.VendorAuth, false, false, true, "4010001", 1, 0}},
		{"auth locked", 200, nil, nhnError(4000123), want{ocrerr.VendorAuth, false, false, true, "4000123", 1, 0}},
		{"not enabled", 200, nil, nhnError(4000401), want{ocrerr.VendorRejected, false, false, true, "4000401", 1, 0}},
		{"bad parameter", 200, nil, nhnError(4000001), want{ocrerr.VendorRejected, false, false, false, "4000001", 1, 0}},
		{"missing header", 200, nil, nhnError(4000005), want{ocrerr.VendorRejected, false, false, false, "4000005", 1, 0}},
		{"file type", 200, nil, nhnError(4000003), want{ocrerr.UnsupportedFormat, false, false, false, "4000003", 1, 0}},
		{"too large", 200, nil, nhnError(4131000), want{ocrerr.TooLarge, false, false, false, "4131000", 1, 0}},
		{"unavailable", 200, nil, nhnError(5000503), want{ocrerr.VendorUnavailable, true, false, false, "5000503", 1, 0}},
		{"recognition", 200, nil, nhnError(5003007), want{ocrerr.RecognitionFailed, false, false, false, "5003007", 1, 0}},
		{"stale key twice", 200, nil, nhnError(4000301), want{ocrerr.VendorRejected, false, false, false, "4000301", 2, 0}},
		{"bad symmetric key twice", 200, nil, nhnError(4000302), want{ocrerr.VendorRejected, false, false, false, "4000302", 2, 0}},
		{"bad data twice", 200, nil, nhnError(4000303), want{ocrerr.VendorRejected, false, false, false, "4000303", 2, 0}},
		{"decrypt fail twice", 200, nil, nhnError(5000006), want{ocrerr.VendorRejected, false, false, false, "5000006", 2, 0}},
		{"encrypt fail twice", 200, nil, nhnError(5000007), want{ocrerr.VendorRejected, false, false, false, "5000007", 2, 0}},
		{"http 429", 429, http.Header{"Retry-After": {"7"}}, "", want{ocrerr.RateLimited, true, true, false, "", 1, 7 * time.Second}},
		{"http 502 html", 502, nil, "<html>bad gateway</html>", want{ocrerr.VendorUnavailable, true, false, false, "", 1, 0}},
		{"http 500 nhn body", 500, nil, nhnError(5000503), want{ocrerr.VendorUnavailable, true, false, false, "5000503", 1, 0}},
		{"http 401", 401, nil, "", want{ocrerr.VendorAuth, false, false, true, "", 1, 0}},
		{"not json", 200, nil, "<html>", want{ocrerr.InvalidResponse, true, false, false, "", 1, 0}},
		{"no result", 200, nil, `{"header":{"isSuccessful":true,"resultCode":0}}`, want{ocrerr.InvalidResponse, true, false, false, "", 1, 0}},
		{"undecryptable value", 200, nil, `{"header":{"isSuccessful":true,"resultCode":0},"result":{"cardNums":[{"value":"AAAA"}]}}`, want{ocrerr.InvalidResponse, true, false, false, "", 1, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, sends := fixedAnswer(t, tc.status, tc.hdr, tc.body)
			c := newClient(t, nhn.Options{URL: url})
			img, _ := image(700)
			_, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeCreditCard, Image: img})
			e, ok := ocrerr.As(err)
			if !ok {
				t.Fatalf("error %v is not classified", err)
			}
			got := want{e.Code, e.Retryable, e.Throttle, e.Halt, e.VendorCode, sends.Load(), e.RetryAfter}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v (%v)", got, tc.want, e)
			}
			if tc.status != 0 && e.HTTPStatus != tc.status {
				t.Errorf("HTTPStatus = %d, want %d", e.HTTPStatus, tc.status)
			}
			for _, secret := range []string{testSecret, testAppKey} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error text holds a credential: %v", err)
				}
			}
		})
	}
}

func TestImageProblems(t *testing.T) {
	_, url := startEmulator(t, nhnemu.Options{MaxUpload: 1024})
	c := newClient(t, nhn.Options{URL: url})
	big := vendortest.PNG(1, make([]byte, 4096))
	_, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeCreditCard,
		Image: vendortest.BytesImage("big", "png", big)})
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.TooLarge || e.Retryable || e.VendorCode != "4131000" {
		t.Fatalf("oversized image: %v", err)
	}

	_, url = startEmulator(t, nhnemu.Options{})
	c = newClient(t, nhn.Options{URL: url})
	broken := vendors.Image{Format: "png", Size: 100000, Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader(strings.Repeat("x", 70000)), errReader{})), nil
	}}
	_, err = c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeCreditCard, Image: broken})
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.StorageUnavailable || !e.Retryable {
		t.Fatalf("image read failure: %v", err)
	}

	noOpen := vendors.Image{Format: "png", Open: func(context.Context) (io.ReadCloser, error) {
		return nil, ocrerr.Permanent(ocrerr.SourceNotFound, "gone")
	}}
	_, err = c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeCreditCard, Image: noOpen})
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.SourceNotFound {
		t.Fatalf("open failure: %v", err)
	}

	gif := vendortest.BytesImage("g", "tiff", []byte("II*\x00"))
	if _, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeCreditCard, Image: gif}); err == nil {
		t.Fatal("tiff accepted")
	} else if e, _ := ocrerr.As(err); e.Code != ocrerr.UnsupportedFormat {
		t.Fatalf("tiff: %v", err)
	}

	// Size unknown: the body goes chunked and still decrypts.
	img, d := image(800)
	img.Size = 0
	resp := recognize(t, c, &vendors.Request{DocumentType: result.TypeCreditCard, Image: img, PII: true})
	if resp.Fields.(*result.CreditCard).Number.Value != d.CardNumber {
		t.Fatal("chunked upload misread")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("storage connection reset") }

func TestNewValidates(t *testing.T) {
	for _, o := range []nhn.Options{
		{AppKey: "a"}, {Secret: "s"}, {URL: "ftp://x", AppKey: "a", Secret: "s"}, {URL: "::", AppKey: "a", Secret: "s"},
	} {
		if _, err := nhn.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	c, err := nhn.New(nhn.Options{AppKey: "a", Secret: "s"})
	if err != nil || c.Kind() != "nhn-ocr" || !c.Supports("id-card") || c.Supports("receipt") {
		t.Fatalf("defaults: %v", err)
	}
}
