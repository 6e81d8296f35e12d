package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// A vendor URL that answers 302 to another host must not get the secret
// sent there: the worker never follows, and the source ends as a failed
// vendor_redirect result. Both servers are loopback listeners in this test;
// the second records whether any request (and any secret header) arrived.
func TestVendorRedirectIsNeverFollowed(t *testing.T) {
	var (
		mu      sync.Mutex
		reached []http.Header
	)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.Header.Clone())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirector.Close()

	s := newStack(t, stack.Options{Config: `
redis:
  url: {{REDIS}}
storage:
  endpoint: {{S3}}
  region: us-east-1
  pathStyle: true
vendors:
  clova:
    kind: clova-ocr
    url: ` + redirector.URL + `/custom/v1/1/abc
    secret: ${CLOVA_OCR_SECRET}
routes:
  receipt: clova
worker:
  maxRetry: 3
  shutdownTimeout: 10s
`})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	put(t, in, "r/a.png", testimages.PNG(11, 24, 24, nil))
	if _, err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/res/", "s3://inbox/r/a.png")
	keys := waitResults(t, out, "res/", 1, time.Minute)
	for k := range keys {
		r := readResult(t, out, k)
		if r.Status != "failed" || r.Error == nil || r.Error.Code != "vendor_redirect" {
			t.Fatalf("%s: status %s error %+v; want failed vendor_redirect", k, r.Status, r.Error)
		}
		if r.Error.Retryable || r.Attempts != 1 || r.Error.HTTPStatus != http.StatusFound {
			t.Errorf("%s: retryable %v after %d attempts, http %d; want a permanent failure on the first 302", k, r.Error.Retryable, r.Attempts, r.Error.HTTPStatus)
		}
		if strings.Contains(string(r.raw), strings.TrimPrefix(other.URL, "http://")) {
			t.Errorf("%s names the redirect target: %s", k, r.raw)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reached) != 0 {
		t.Errorf("the redirect target received %d request(s); headers of the first: %v", len(reached), reached[0])
	}
	assertNoSecrets(t, s)
}
