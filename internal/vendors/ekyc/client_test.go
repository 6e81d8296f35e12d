package ekyc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/emulator/ekycemu"
	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

func img(b []byte) vendors.Image { return vendortest.BytesImage("doc", "png", b) }

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{Secret: "s"},
		{URL: "ftp://x", Secret: "s"},
		{URL: "http://x", Secret: "s"}, // plain http beyond loopback
		{URL: "https://x"},
		{URL: "https://x", Secret: "s", Mode: "xml"},
		{URL: "https://x", Secret: "s", MatchThreshold: 1.5},
		{URL: "https://x", Secret: "s", Timeout: -time.Second},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	c := newClient(t, Options{URL: "https://x/", Secret: "s"})
	if c.mode != ModeMultipart || c.threshold != MatchThresholdDefault || c.timeout != vendors.TimeoutDefault || c.base != "https://x" {
		t.Errorf("defaults: %+v", c)
	}
}

// A retry after a 5xx must carry a new requestId: the vendor refuses one it
// saw in the last 10 minutes.
func TestRetryUsesFreshRequestID(t *testing.T) {
	emu, url := setup(t, ekycemu.Options{})
	c := newClient(t, Options{URL: url, Secret: testSecret})
	req := &vendors.Request{DocumentType: result.TypeIDCard, Image: img(vendortest.PNG(7, emulator.MarkerFlaky))}
	_, err := c.Recognize(context.Background(), req)
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.VendorUnavailable || !e.Retryable {
		t.Fatalf("first call: %v; want a retryable vendor_unavailable", err)
	}
	resp, err := c.Recognize(context.Background(), req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	st := emu.Engine().Stats()
	if st.DuplicateRequestIDs != 0 || st.RequestIDs != 2 {
		t.Errorf("stats: %d duplicate, %d distinct requestIds; want 0 and 2", st.DuplicateRequestIDs, st.RequestIDs)
	}
	if st.Calls["id-card/document server_error"] != 1 || st.Calls["id-card/document ok"] != 1 {
		t.Errorf("calls = %v", st.Calls)
	}
	if resp.RequestID == "" {
		t.Error("Response.RequestID empty")
	}
}

// A reused requestId (which our client never sends) is retryable: a new
// attempt gets a new id.
func TestReusedRequestIDIsRetryable(t *testing.T) {
	_, url := setup(t, ekycemu.Options{})
	c := newClient(t, Options{URL: url, Secret: testSecret})
	c.newID = func() string { return "fixed-id" }
	req := &vendors.Request{DocumentType: result.TypeBizLicense, Image: img(vendortest.PNG(1, nil))}
	if _, err := c.Recognize(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	_, err := c.Recognize(context.Background(), req)
	e, ok := ocrerr.As(err)
	if !ok || e.Code != ocrerr.VendorRejected || !e.Retryable || e.VendorCode != "0013" || e.HTTPStatus != 400 {
		t.Errorf("reuse: %#v", err)
	}
}

func TestQuotaHalts(t *testing.T) {
	_, url := setup(t, ekycemu.Options{Quota: 1})
	c := newClient(t, Options{URL: url, Secret: testSecret, Mode: ModeJSON})
	req := &vendors.Request{DocumentType: result.TypeBizLicense, Image: img(vendortest.PNG(1, nil))}
	if _, err := c.Recognize(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	_, err := c.Recognize(context.Background(), req)
	e, ok := ocrerr.As(err)
	if !ok || e.Code != ocrerr.QuotaExhausted || !e.Halt || e.Retryable || e.VendorCode != "0023" {
		t.Errorf("over quota: %#v", err)
	}
}

func TestHTTPErrorClasses(t *testing.T) {
	retry := http.Header{"Retry-After": []string{"3"}}
	for _, tc := range []struct {
		status                    int
		h                         http.Header
		body                      string
		code                      ocrerr.Code
		retryable, throttle, halt bool
		vendorCode                string
		after                     time.Duration
	}{
		{400, nil, `{"code":"0025","message":"Calls to this api have exceeded the rate limit."}`, ocrerr.RateLimited, true, true, false, "0025", 0},
		{429, retry, `{"error":{"errorCode":"420","message":"Rate Limited"}}`, ocrerr.RateLimited, true, true, false, "420", 3 * time.Second},
		{429, nil, ``, ocrerr.RateLimited, true, true, false, "", 0},
		{429, nil, `{"error":{"errorCode":"400","message":"Quota Exceeded"}}`, ocrerr.QuotaExhausted, false, false, true, "400", 0},
		{400, nil, `{"code":"0023","message":"API request count reach the upper limit."}`, ocrerr.QuotaExhausted, false, false, true, "0023", 0},
		{401, nil, `{"code":"0002","message":"Secret key validate failed."}`, ocrerr.VendorAuth, false, false, true, "0002", 0},
		{401, nil, `{"error":{"errorCode":"200","message":"Authentication Failed"}}`, ocrerr.VendorAuth, false, false, true, "200", 0},
		{403, nil, `nope`, ocrerr.VendorAuth, false, false, true, "", 0},
		{400, nil, `{"code":"0013","message":"Duplicated requestId."}`, ocrerr.VendorRejected, true, false, false, "0013", 0},
		{400, nil, `{"code":"0012"}`, ocrerr.UnsupportedFormat, false, false, false, "0012", 0},
		{400, nil, `{"code":"0011","message":"Request body invalid."}`, ocrerr.VendorRejected, false, false, false, "0011", 0},
		{404, nil, `{"code":"0001"}`, ocrerr.VendorRejected, false, false, false, "0001", 0},
		{500, nil, `{"code":"0500","message":"Unknown service error."}`, ocrerr.VendorUnavailable, true, false, false, "0500", 0},
		{503, retry, `<html>`, ocrerr.VendorUnavailable, true, false, false, "", 3 * time.Second},
	} {
		e := httpError(tc.status, tc.h, []byte(tc.body))
		if e.Code != tc.code || e.Retryable != tc.retryable || e.Throttle != tc.throttle || e.Halt != tc.halt ||
			e.VendorCode != tc.vendorCode || e.HTTPStatus != tc.status || e.RetryAfter != tc.after {
			t.Errorf("%d %s: %#v", tc.status, tc.body, e)
		}
	}
}

func TestImageErrorsAreStorageErrors(t *testing.T) {
	_, url := setup(t, ekycemu.Options{})
	c := newClient(t, Options{URL: url, Secret: testSecret})
	notFound := ocrerr.Permanent(ocrerr.SourceNotFound, "no such object")
	open := vendors.Image{Name: "x", Format: "png", Size: 10, Open: func(context.Context) (io.ReadCloser, error) { return nil, notFound }}
	_, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeIDCard, Image: open})
	if !errors.Is(err, notFound) {
		t.Errorf("open error: %v", err)
	}
	broken := vendors.Image{Name: "x", Format: "png", Size: 1 << 20, Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(strings.NewReader("partial"), errReader{})), nil
	}}
	for _, mode := range []string{ModeJSON, ModeMultipart} {
		c.mode = mode
		_, err = c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeIDCard, Image: broken})
		if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.StorageUnavailable || !e.Retryable {
			t.Errorf("%s: read error mid-stream: %v", mode, err)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// Images of unknown size are sent chunked; both body modes reach the
// emulator intact (it derives the same document from the bytes).
func TestUnknownSizeStreams(t *testing.T) {
	_, url := setup(t, ekycemu.Options{})
	b := vendortest.PNG(3, nil)
	for _, mode := range []string{ModeJSON, ModeMultipart} {
		c := newClient(t, Options{URL: url, Secret: testSecret, Mode: mode})
		im := img(b)
		im.Size = 0
		resp, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeBizLicense, Image: im})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		checkPaths(t, resp.Fields, vendortest.Expect(result.TypeBizLicense, emulator.Derive(b)))
	}
}

func TestRequestChecks(t *testing.T) {
	c := newClient(t, Options{URL: "http://127.0.0.1:1", Secret: "s"})
	for _, tc := range []struct {
		req  *vendors.Request
		code ocrerr.Code
	}{
		{&vendors.Request{DocumentType: result.TypeReceipt, Image: img([]byte("x"))}, ocrerr.UnknownDocumentType},
		{&vendors.Request{DocumentType: result.TypeFaceCompare, Image: img([]byte("x"))}, ocrerr.InvalidTask},
		{&vendors.Request{DocumentType: result.TypeIDCard, Image: vendortest.BytesImage("x", "gif", []byte("x"))}, ocrerr.UnsupportedFormat},
		{&vendors.Request{DocumentType: result.TypeIDCard, Image: img([]byte("x"))}, ocrerr.VendorUnavailable}, // nothing listens
	} {
		_, err := c.Recognize(context.Background(), tc.req)
		if e, ok := ocrerr.As(err); !ok || e.Code != tc.code {
			t.Errorf("%s: %v; want %s", tc.req.DocumentType, err, tc.code)
		}
	}
}

// Parity: whatever image, eKYC's biz-license and id-card normalize to the
// values vendortest.Expect derives (the values CLOVA OCR must give too).
func TestParityWithExpect(t *testing.T) {
	_, url := setup(t, ekycemu.Options{})
	c := newClient(t, Options{URL: url, Secret: testSecret})
	for seed := 100; seed < 140; seed++ {
		b := vendortest.PNG(seed, nil)
		d := emulator.Derive(b)
		for _, dt := range []string{result.TypeBizLicense, result.TypeIDCard, result.TypeFaceCompare} {
			req := &vendors.Request{DocumentType: dt, Image: img(b)}
			if dt == result.TypeFaceCompare {
				face := img(vendortest.PNG(seed+1000, nil))
				req.Face = &face
			}
			resp, err := c.Recognize(context.Background(), req)
			if err != nil {
				t.Fatalf("seed %d %s: %v", seed, dt, err)
			}
			checkPaths(t, resp.Fields, vendortest.Expect(dt, d))
		}
	}
}

// The other IDs eKYC reads: driver's license, passport, alien card, with
// their numbers masked as result-v1 says.
func TestOtherIDKinds(t *testing.T) {
	_, url := setup(t, ekycemu.Options{})
	c := newClient(t, Options{URL: url, Secret: testSecret, Mode: ModeJSON})
	for _, tc := range []struct {
		marker []byte
		want   func(d emulator.Doc) map[string]any
		whole  func(d emulator.Doc) string
	}{
		{ekycemu.MarkerDriverLicense, func(d emulator.Doc) map[string]any {
			return map[string]any{"idType": "driver", "name.value": d.Name, "licenseNumber.value": normalize.MaskLicenseNumber(d.LicenseNumber),
				"licenseType.value": d.LicenseType, "serialNumber.value": d.SerialNumber, "renewStart.value": d.RenewStart.ISO(),
				"renewEnd.value": d.RenewEnd.ISO(), "personalNumber.value": normalize.MaskResidentNumber(d.PersonalNumber), "issueDate.value": d.IssueDate.ISO()}
		}, func(d emulator.Doc) string { return d.LicenseNumber }},
		{ekycemu.MarkerPassport, func(d emulator.Doc) map[string]any {
			return map[string]any{"idType": "passport", "passportNumber.value": normalize.MaskPassportNumber(d.PassportNumber),
				"surname.value": d.Surname, "givenName.value": d.GivenName, "birthDate.value": d.BirthDate.ISO(),
				"expiryDate.value": d.ExpiryDate.ISO(), "sex.value": d.Sex, "koreanName.value": d.Name}
		}, func(d emulator.Doc) string { return d.PassportNumber }},
		{ekycemu.MarkerAlienCard, func(d emulator.Doc) map[string]any {
			return map[string]any{"idType": "alien", "name.value": d.NameEnglish, "sex.value": d.Sex, "issueDate.value": d.IssueDate.ISO()}
		}, func(d emulator.Doc) string {
			class := "5" // the emulator's alien number: the resident number with class 5 (M) or 6 (F)
			if d.Sex == "F" {
				class = "6"
			}
			return d.PersonalNumber[:7] + class + d.PersonalNumber[8:]
		}},
	} {
		b := vendortest.PNG(5, tc.marker)
		d := emulator.Derive(b)
		resp, err := c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeIDCard, Image: img(b), KeepRaw: true})
		if err != nil {
			t.Fatal(err)
		}
		checkPaths(t, resp.Fields, tc.want(d))
		fields, _ := json.Marshal(resp.Fields)
		for _, s := range []string{string(fields), string(resp.Raw)} {
			if strings.Contains(s, tc.whole(d)) {
				t.Errorf("%s: whole number in %s", tc.marker, s)
			}
		}
	}
}
