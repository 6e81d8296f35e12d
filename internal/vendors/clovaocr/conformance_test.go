package clovaocr_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/emulator/clovaemu"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/clovaocr"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// TestConformance runs the shared vendor suite against the CLOVA OCR
// emulator, once per body mode.
func TestConformance(t *testing.T) {
	for _, mode := range []string{clovaocr.ModeMultipart, clovaocr.ModeJSON} {
		t.Run(mode, func(t *testing.T) {
			emu := clovaemu.New(clovaemu.Options{Secret: "right-secret", Behavior: emulator.Behavior{}})
			srv := httptest.NewServer(emu)
			t.Cleanup(srv.Close)
			vendortest.Exercise(t, vendortest.Harness{
				Driver: &clovaocr.Driver,
				Engine: emu.Engine(),
				// CLOVA OCR masks resident numbers itself (2026 id-card page).
				VendorMasked: []string{"personalNumber.value", "personalNumber.text"},
				Client: func(t testing.TB, goodSecret bool) vendors.Client {
					secret := "right-secret"
					if !goodSecret {
						secret = "wrong-secret"
					}
					c, err := clovaocr.New(clovaocr.Options{URL: srv.URL, Secret: secret, Mode: mode, Timeout: 10 * time.Second})
					if err != nil {
						t.Fatal(err)
					}
					return c
				},
				ClientAt: func(t testing.TB, base string) vendors.Client {
					c, err := clovaocr.New(clovaocr.Options{URL: base, Secret: "right-secret", Mode: mode, Timeout: 10 * time.Second})
					if err != nil {
						t.Fatal(err)
					}
					return c
				},
				Upstream: srv.URL,
			})
		})
	}
}
