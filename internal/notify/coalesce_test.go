package notify

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Failures of one batch within one minute become one delivery listing them
// (up to the cap, the rest counted as dropped); the next minute's failures
// the next delivery. Redis holds nothing once they are sent.
func TestDocumentFailedIsCoalescedPerBatchPerMinute(t *testing.T) {
	b := setup(t)
	const secret = "whsec_coalesce"
	rc := newReceiver(t, secret, func(int) int { return 200 })
	recv := Receiver{URL: rc.URL, Secret: secret, Events: []string{EventDocumentFailed}}

	// A clock ten minutes back: each minute's flush is already due when
	// the server starts, so the test need not wait for minute boundaries.
	clock := time.Now().Add(-10 * time.Minute).Truncate(time.Minute).Add(5 * time.Second)
	d := b.deps(recv)
	d.Now = func() time.Time { return clock }
	d.MaxFailuresPerDelivery = 3
	e := NewEmitter(d)

	for i := range 5 {
		if err := e.DocumentFailed(t.Context(), "b1", fmt.Sprintf("s3://in/홍길동-%d.jpg", i), "invalid_image"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.DocumentFailed(t.Context(), "other", "s3://in/x.jpg", "too_large"); err != nil {
		t.Fatal(err)
	}

	// Before any worker runs: one flush task per batch for the minute, and
	// a list capped at 3 with the rest counted.
	pending, err := b.inspector.ListPendingTasks("default")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].Type != TypeFlush || pending[1].Type != TypeFlush {
		t.Fatalf("%d pending tasks, want 2 flushes (b1 and other)", len(pending))
	}
	if n, _ := b.rdb.LLen(t.Context(), failedKey("b1")).Result(); n != 3 {
		t.Errorf("b1 list holds %d, want the cap 3", n)
	}
	if got := testutil.ToFloat64(b.metrics.dropped); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}

	b.serve(t, NewHandler(d), nil)
	waitFor(t, "two deliveries", func() bool { return len(rc.got()) >= 2 })

	clock = clock.Add(time.Minute)
	for i := 5; i < 7; i++ {
		if err := e.DocumentFailed(t.Context(), "b1", fmt.Sprintf("s3://in/홍길동-%d.jpg", i), "vendor_rejected"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the third delivery", func() bool { return len(rc.got()) >= 3 })
	time.Sleep(300 * time.Millisecond) // a fourth would show now

	var perBatch = map[string][]DocumentsFailed{}
	for _, h := range rc.got() {
		if h.valid != nil {
			t.Errorf("signature: %v", h.valid)
		}
		var data DocumentsFailed
		body := decodeBody(t, h.body, &data)
		if body.Event != EventDocumentFailed || h.header.Get(HeaderEvent) != EventDocumentFailed {
			t.Errorf("event %q", body.Event)
		}
		perBatch[data.Batch] = append(perBatch[data.Batch], data)
	}
	if len(rc.got()) != 3 || len(perBatch["b1"]) != 2 || len(perBatch["other"]) != 1 {
		t.Fatalf("deliveries per batch: %d b1, %d other (%d in all), want 2, 1", len(perBatch["b1"]), len(perBatch["other"]), len(rc.got()))
	}
	second, first := perBatch["b1"][0], perBatch["b1"][1]
	sources := func(fs []Failure) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Source+" "+f.Code)
		}
		return out
	}
	if want := []string{"s3://in/홍길동-0.jpg invalid_image", "s3://in/홍길동-1.jpg invalid_image", "s3://in/홍길동-2.jpg invalid_image"}; !slices.Equal(sources(second.Failures), want) || second.Dropped != 2 {
		t.Errorf("minute 1: %q dropped %d, want %q dropped 2", sources(second.Failures), second.Dropped, want)
	}
	if want := []string{"s3://in/홍길동-5.jpg vendor_rejected", "s3://in/홍길동-6.jpg vendor_rejected"}; !slices.Equal(sources(first.Failures), want) || first.Dropped != 0 {
		t.Errorf("minute 2: %q dropped %d, want %q", sources(first.Failures), first.Dropped, want)
	}

	// Bounded Redis: nothing of the coalescing is left behind.
	waitFor(t, "the flush keys gone", func() bool {
		keys, _ := b.rdb.Keys(t.Context(), "ocr:notify:batch:*").Result()
		for _, k := range keys {
			if !strings.HasSuffix(k, ":state") {
				return false
			}
		}
		return true
	})
	if logs := b.logs.String(); strings.Contains(logs, "홍길동") || strings.Contains(logs, "s3://") {
		t.Errorf("logs name a source:\n%s", logs)
	}
}

// A flush retried after it took the failures sends what it took, and
// failures that came in meanwhile wait for a flush of their own.
func TestRetriedFlushSendsWhatItTook(t *testing.T) {
	b := setup(t)
	recv := Receiver{URL: "https://hooks.example.com/x", Secret: "s", Events: []string{EventDocumentFailed}}
	d := b.deps(recv)
	ctx := t.Context()
	if _, err := pushFailure(ctx, b.rdb, "b1", []byte(`{"source":"s3://a","code":"x"}`), 10); err != nil {
		t.Fatal(err)
	}
	took, err := takeFailures(ctx, b.rdb, "b1", 100)
	if err != nil || len(took.Failures) != 1 {
		t.Fatalf("took %+v, %v", took, err)
	}
	if _, err := pushFailure(ctx, b.rdb, "b1", []byte(`{"source":"s3://late","code":"y"}`), 10); err != nil {
		t.Fatal(err)
	}
	again, err := takeFailures(ctx, b.rdb, "b1", 100) // the retry
	if err != nil || len(again.Failures) != 1 || again.Failures[0].Source != "s3://a" {
		t.Fatalf("retried take = %+v, %v; want only s3://a", again, err)
	}
	h := NewHandler(d)
	task, _ := newFlushTask("b1", 100, "default")
	if err := h.ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	pending, _ := b.inspector.ListPendingTasks("default")
	scheduled, _ := b.inspector.ListScheduledTasks("default")
	var types []string
	for _, p := range append(pending, scheduled...) {
		types = append(types, p.Type)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{TypeDeliver, TypeFlush}) {
		t.Errorf("pending = %q, want the delivery and a flush for the late failure", types)
	}
}
