package clovaocr

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// Both body modes announce their exact length: gateways may refuse chunked
// uploads, and a wrong length breaks the request.
func TestBodyHasExactContentLength(t *testing.T) {
	answer, err := os.ReadFile("testdata/receipt.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{ModeMultipart, ModeJSON} {
		t.Run(mode, func(t *testing.T) {
			var announced, got int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				announced = r.ContentLength
				n, _ := io.Copy(io.Discard, r.Body)
				got = n
				w.Header().Set("Content-Type", "application/json")
				w.Write(answer)
			}))
			defer srv.Close()
			c, err := New(Options{URL: srv.URL, Secret: "s", Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			img := vendortest.BytesImage("image", "png", vendortest.PNG(3, make([]byte, 1001)))
			if _, err := c.Recognize(t.Context(), &vendors.Request{DocumentType: result.TypeReceipt, Image: img}); err != nil {
				t.Fatal(err)
			}
			if announced <= 0 || announced != got {
				t.Errorf("Content-Length %d, body %d bytes", announced, got)
			}
		})
	}
}
