package nhn_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/emulator/nhnemu"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/nhn"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

const (
	testAppKey = "test-appkey"
	testSecret = "test-secret"
)

// startEmulator serves an nhnemu on a loopback httptest server.
func startEmulator(t testing.TB, o nhnemu.Options) (*nhnemu.Server, string) {
	t.Helper()
	if o.AppKey == "" {
		o.AppKey, o.Secret = testAppKey, testSecret
	}
	emu, err := nhnemu.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv.URL
}

func newClient(t testing.TB, o nhn.Options) *nhn.Client {
	t.Helper()
	if o.AppKey == "" {
		o.AppKey = testAppKey
	}
	if o.Secret == "" {
		o.Secret = testSecret
	}
	c, err := nhn.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pkcs1 bool
	}{{"SPKI", false}, {"PKCS1", true}} {
		t.Run(tc.name, func(t *testing.T) {
			emu, url := startEmulator(t, nhnemu.Options{PKCS1: tc.pkcs1})
			vendortest.Exercise(t, vendortest.Harness{
				Driver: &nhn.Driver,
				Engine: emu.Engine(),
				Client: func(t testing.TB, goodSecret bool) vendors.Client {
					secret := testSecret
					if !goodSecret {
						secret = "wrong-secret"
					}
					return newClient(t, nhn.Options{URL: url, Secret: secret})
				},
				ClientAt: func(t testing.TB, base string) vendors.Client {
					return newClient(t, nhn.Options{URL: base})
				},
				Upstream: url,
			})
		})
	}
}
