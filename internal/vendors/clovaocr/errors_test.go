package clovaocr

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// The vendor's code goes to logs, the result's vendorCode and Redis (batch
// failures): only the documented shape (four digits) is copied, anything
// else becomes "other".
func TestVendorCodeOnlyDocumentedShape(t *testing.T) {
	for body, want := range map[string]string{
		`{"code":"0011"}`:            "0011",
		`{"code":"0025"}`:            "0025",
		`{"code":"1021"}`:            "1021",
		`{"code":""}`:                "",
		`not json`:                   "",
		`{"code":"800101-1234567"}`:  "other",
		`{"code":"s3://in/Kim.jpg"}`: "other",
		`{"code":"00111"}`:           "other",
		`{"code":"` + strings.Repeat("9", 5000) + `"}`: "other",
		`{"code":"００１１"}`:                              "other",
	} {
		resp := &http.Response{StatusCode: 400, Header: http.Header{}}
		e := answerError(resp, []byte(body))
		if e.VendorCode != want {
			t.Errorf("%.60s: VendorCode %q, want %q", body, e.VendorCode, want)
		}
		if want == "other" && strings.Contains(e.Error(), "800101") {
			t.Errorf("%.60s: error %q holds the code", body, e)
		}
	}
}

// A transport error names no part of the invoke URL: its path holds the
// account's ids (…/custom/v1/{domainId}/{signature}).
func TestTransportErrorHoldsNoInvokeURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL
	srv.Close()
	c, err := New(Options{URL: url + "/custom/v1/31337/0f1e2d3c4b5a", Secret: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Recognize(context.Background(), &vendors.Request{DocumentType: result.TypeReceipt,
		Image: vendortest.BytesImage("doc", "png", vendortest.PNG(1, nil))})
	e, ok := ocrerr.As(err)
	if !ok || e.Code != ocrerr.VendorUnavailable {
		t.Fatalf("err = %v", err)
	}
	for _, leak := range []string{"31337", "0f1e2d3c4b5a", "custom/v1", "document/receipt"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q holds %q", err, leak)
		}
	}
}
