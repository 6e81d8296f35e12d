package vendortest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// exerciseRedirects puts a server answering redirects between the client
// and the emulator, pointing at another loopback listener that counts what
// reaches it. A client must never follow: the call ends as a permanent
// vendor_redirect naming the status, and the other listener sees nothing
// (the secret headers would travel with the request). "POST only" proxies
// every other request to the emulator, so NHN's public-key fetch succeeds
// and the recognition call itself is redirected; "every request" redirects
// the key fetch too.
func exerciseRedirects(t *testing.T, h Harness, req *vendors.Request) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	upstream, err := url.Parse(h.Upstream)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	for _, tc := range []struct {
		name     string
		status   int
		postOnly bool
	}{
		{"302/every request", http.StatusFound, false},
		{"307/every request", http.StatusTemporaryRedirect, false},
		{"302/POST only", http.StatusFound, true},
		{"308/POST only", http.StatusPermanentRedirect, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.postOnly && r.Method != http.MethodPost {
					proxy.ServeHTTP(w, r)
					return
				}
				http.Redirect(w, r, other.URL+r.URL.Path, tc.status)
			}))
			defer redirector.Close()
			before := elsewhere.Load()
			_, err := h.ClientAt(t, redirector.URL).Recognize(context.Background(), req)
			e := classified(t, err)
			if e == nil {
				return
			}
			want(t, e, ocrerr.VendorRedirect, false)
			if e.Halt || e.Throttle {
				t.Errorf("a redirect must neither halt nor throttle: %+v", e)
			}
			if e.HTTPStatus != tc.status {
				t.Errorf("HTTPStatus %d, want %d", e.HTTPStatus, tc.status)
			}
			msg := e.Error()
			if !strings.Contains(msg, fmt.Sprint(tc.status)) {
				t.Errorf("message %q does not name the status", msg)
			}
			if strings.Contains(msg, strings.TrimPrefix(other.URL, "http://")) {
				t.Errorf("message %q names the redirect target", msg)
			}
			if n := elsewhere.Load() - before; n != 0 {
				t.Errorf("the redirect target received %d request(s)", n)
			}
		})
	}
}
