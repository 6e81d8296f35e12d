package notify

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// attempt runs one delivery of event to r through a Handler, as a worker
// would, and returns the handler's error and the receiver's state after it.
func attempt(t *testing.T, b *bundle, d Deps, r Receiver, created time.Time) (error, State) {
	t.Helper()
	task, err := newDeliveryTask(r, EventVendorHalted, deliveryID("test", t.Name()), "b1", VendorHalt{Vendor: "clova", Reason: "operator"}, created, "default")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	herr := NewHandler(d).ProcessTask(ctx, task)
	states, err := States(t.Context(), b.rdb, []Receiver{r})
	if err != nil {
		t.Fatal(err)
	}
	return herr, states[0]
}

func wantCode(t *testing.T, err error, code string, skipRetry bool) {
	t.Helper()
	var ae *attemptError
	if !errors.As(err, &ae) || ae.code != code {
		t.Fatalf("err = %v, want an attempt error with code %s", err, code)
	}
	if errors.Is(err, asynq.SkipRetry) != skipRetry {
		t.Errorf("err = %v: SkipRetry = %v, want %v", err, !skipRetry, skipRetry)
	}
}

func TestRedirectIsRefusedNotFollowed(t *testing.T) {
	b := setup(t)
	var elsewhere atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { elsewhere.Add(1) }))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	r := Receiver{URL: redirector.URL, Secret: "s", Events: []string{EventVendorHalted}}

	err, st := attempt(t, b, b.deps(r), r, time.Now())
	wantCode(t, err, codeRedirect, false)
	if elsewhere.Load() != 0 {
		t.Errorf("the redirect target got %d requests", elsewhere.Load())
	}
	if !st.Failing || st.LastCode != codeRedirect || st.Delivered != 0 {
		t.Errorf("state = %+v", st)
	}
}

func TestPlainHTTPToANonLoopbackHostIsRefusedAtDelivery(t *testing.T) {
	b := setup(t)
	// As if the config had bypassed Validate: the worker still refuses,
	// without a connection attempt (192.0.2.0/24 is TEST-NET, never routed).
	r := Receiver{URL: "http://192.0.2.10/hook", Secret: "s", Events: []string{EventVendorHalted}}
	start := time.Now()
	err, st := attempt(t, b, b.deps(r), r, time.Now())
	wantCode(t, err, codeRefused, true)
	if time.Since(start) > time.Second {
		t.Errorf("took %s: it tried to connect", time.Since(start))
	}
	if st.GaveUp != 1 || st.LastCode != codeRefused {
		t.Errorf("state = %+v", st)
	}
	if got := testutil.ToFloat64(b.metrics.deliveries.WithLabelValues(EventVendorHalted, outcomeGaveUp)); got != 1 {
		t.Errorf("deliveries{gave_up} = %v", got)
	}
}

func TestTLSIsVerified(t *testing.T) {
	b := setup(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	r := Receiver{URL: srv.URL, Secret: "s", Events: []string{EventVendorHalted}}

	err, _ := attempt(t, b, b.deps(r), r, time.Now())
	wantCode(t, err, codeTLS, false)

	trusting := b.deps(r)
	trusting.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	if err, st := attempt(t, b, trusting, r, time.Now()); err != nil || st.Delivered != 1 {
		t.Errorf("with the server's CA trusted: err %v, state %+v", err, st)
	}
}

func TestASlowReceiverTimesOut(t *testing.T) {
	b := setup(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r := Receiver{URL: srv.URL, Secret: "s", Events: []string{EventVendorHalted}}
	err, st := attempt(t, b, b.deps(r), r, time.Now()) // attempt's context ends after 2 s
	wantCode(t, err, codeTimeout, false)
	if st.LastCode != codeTimeout {
		t.Errorf("state = %+v", st)
	}
}

func TestDeliveryGivesUpAfterTheRetryWindow(t *testing.T) {
	b := setup(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	r := Receiver{URL: srv.URL, Secret: "s", Events: []string{EventVendorHalted}}

	err, st := attempt(t, b, b.deps(r), r, time.Now().Add(-time.Hour))
	wantCode(t, err, "http_503", false)
	if st.GaveUp != 0 {
		t.Errorf("gave up within the window: %+v", st)
	}
	err, st = attempt(t, b, b.deps(r), r, time.Now().Add(-RetryWindow-time.Minute))
	wantCode(t, err, "http_503", true)
	if st.GaveUp != 1 {
		t.Errorf("state = %+v", st)
	}
	per, _ := BatchDeliveries(t.Context(), b.rdb, "b1")
	if len(per) != 1 || per[0].Outcome != StateGaveUp || per[0].Code != "http_503" {
		t.Errorf("batch deliveries = %+v", per)
	}
}

func TestDeliveryToARemovedReceiverIsDiscarded(t *testing.T) {
	b := setup(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	old := Receiver{Name: "old", URL: srv.URL, Secret: "s", Events: []string{EventVendorHalted}}
	now := Receiver{Name: "new", URL: srv.URL, Secret: "s", Events: []string{EventVendorHalted}}
	if err, _ := attempt(t, b, b.deps(now), old, time.Now()); err != nil {
		t.Errorf("err = %v, want nil (nothing to retry)", err)
	}
	if hits.Load() != 0 {
		t.Errorf("%d requests", hits.Load())
	}
	if got := testutil.ToFloat64(b.metrics.deliveries.WithLabelValues(EventVendorHalted, outcomeDiscarded)); got != 1 {
		t.Errorf("deliveries{discarded} = %v", got)
	}
}
