package ekyc

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/emulator/ekycemu"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

const testSecret = "ekyc-test-secret"

// setup starts an emulator and returns it with its URL (an invoke URL with
// a path prefix, as the real ones have).
func setup(t testing.TB, o ekycemu.Options) (*ekycemu.Server, string) {
	t.Helper()
	if o.Secret == "" {
		o.Secret = testSecret
	}
	emu := ekycemu.New(o)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv.URL + invokePath
}

// invokePath is the path of the test invoke URL under the emulator's root.
const invokePath = "/ekyc/v1/1234/abcd"

func newClient(t testing.TB, o Options) *Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	for _, mode := range []string{ModeMultipart, ModeJSON} {
		t.Run(mode, func(t *testing.T) {
			emu, url := setup(t, ekycemu.Options{})
			vendortest.Exercise(t, vendortest.Harness{
				Driver: &Driver,
				Engine: emu.Engine(),
				Client: func(t testing.TB, goodSecret bool) vendors.Client {
					secret := testSecret
					if !goodSecret {
						secret = "wrong"
					}
					return newClient(t, Options{URL: url, Secret: secret, Mode: mode})
				},
				ClientAt: func(t testing.TB, base string) vendors.Client {
					return newClient(t, Options{URL: base + invokePath, Secret: testSecret, Mode: mode})
				},
				Upstream: strings.TrimSuffix(url, invokePath),
			})
		})
	}
}
