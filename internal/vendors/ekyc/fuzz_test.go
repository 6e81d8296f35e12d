package ekyc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// The parsers take whatever the network brings: they must never panic, and
// whatever they return must be either a classified error or a response
// whose raw form holds no face vector.

func FuzzDocumentResponse(f *testing.F) {
	f.Add(golden(f, "seed_bizlicense.json"), false)
	f.Add(golden(f, "seed_idcard.json"), true)
	f.Add([]byte(`{"images":[{"inferResult":"SUCCESS","idCard":{"result":{"dl":{"type":{"text":"1종보통"}}}}}]}`), false)
	f.Add([]byte(`{"images":[{"inferResult":"FAILURE"}]}`), false)
	f.Fuzz(func(t *testing.T, body []byte, idCard bool) {
		dt := result.TypeBizLicense
		if idCard {
			dt = result.TypeIDCard
		}
		resp, err := documentResponse(body, &vendors.Request{DocumentType: dt, KeepRaw: true})
		checkOutcome(t, resp, err)
	})
}

func FuzzCompareResponse(f *testing.F) {
	f.Add(golden(f, "seed_facecompare.json"))
	f.Add([]byte(`{"result":"ERROR","message":"Face not detected: faceImage","faces":[{"feature":[1]}]}`))
	f.Add([]byte(`{"result":"SUCCESS","similarityPercentage":50}`))
	c := newClient(f, Options{URL: "https://x", Secret: "s"})
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := c.compareResponse(body, &vendors.Request{DocumentType: result.TypeFaceCompare, KeepRaw: true})
		checkOutcome(t, resp, err)
		if err == nil {
			fc := resp.Fields.(*result.FaceCompare)
			if fc.Similarity < 0 || fc.Similarity > 1 || fc.Faces.Card < 0 || fc.Faces.Face < 0 {
				t.Errorf("out of range: %+v", fc)
			}
		}
	})
}

func FuzzHTTPError(f *testing.F) {
	f.Add(400, []byte(`{"code":"0025","message":"Calls to this api have exceeded the rate limit."}`), "")
	f.Add(429, []byte(`{"error":{"errorCode":"400","message":"Quota Exceeded"}}`), "120")
	f.Add(500, []byte(`<html>`), "Wed, 02 Dec 2026 08:01:00 GMT")
	f.Add(400, []byte(`{"code":"0011","message":"bad value 800101-1234567"}`), "-1")
	f.Add(503, []byte(`{"code":"12345","message":"Service Unavailable"}`), "99999999999999999999")
	// Every answer is classified with its status; the vendor's code is kept
	// only in a documented shape, and its message only without a digit (a
	// number it echoes may be the document's); a wait is never negative.
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		e := httpError(status, http.Header{"Retry-After": {retryAfter}}, body)
		if e == nil || e.Code == "" {
			t.Fatalf("unclassified: %#v", e)
		}
		if len(e.Message) > 200 {
			t.Errorf("message too long: %d", len(e.Message))
		}
		if strings.ContainsAny(e.Message, "0123456789") {
			t.Errorf("message holds a digit: %q", e.Message)
		}
		if c := e.VendorCode; c != "" && c != vendors.OtherCode && vendors.DocumentedCode(c, len(c)) != c {
			t.Errorf("vendor code %q is not of a documented shape", c)
		}
		if e.HTTPStatus != status || e.RetryAfter < 0 || (e.Throttle && !e.Retryable) {
			t.Errorf("status %d, retryAfter %v, throttle %v retryable %v", e.HTTPStatus, e.RetryAfter, e.Throttle, e.Retryable)
		}
	})
}

func checkOutcome(t *testing.T, resp *vendors.Response, err error) {
	t.Helper()
	if err != nil {
		if _, ok := ocrerr.As(err); !ok {
			t.Fatalf("unclassified error %T: %v", err, err)
		}
		return
	}
	if resp == nil || resp.Fields == nil {
		t.Fatal("nil response without error")
	}
	if strings.Contains(string(resp.Raw), `"feature"`) || strings.Contains(string(resp.Raw), `"alignedImage"`) {
		t.Errorf("raw keeps face data: %s", resp.Raw)
	}
}
