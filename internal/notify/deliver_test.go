package notify

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The receiver fails the first two deliveries; asynq retries, every attempt
// is signed and carries the same delivery id, the third lands, and the
// state and metrics say so. The delivery runs on the queue of the task that
// emitted it.
func TestBatchCompletedIsRetriedUntilDeliveredAndSigned(t *testing.T) {
	b := setup(t)
	const secret = "whsec_0123456789"
	rc := newReceiver(t, secret, func(n int) int {
		if n <= 2 {
			return 500
		}
		return 204
	})
	recv := Receiver{Name: "accounting", URL: rc.URL + "/ocr", Secret: secret, Events: []string{EventBatchCompleted}}
	d := b.deps(recv)
	emitter := NewEmitter(d)

	summary := BatchSummary{Batch: "b-2026", Total: 10, Succeeded: 7, Failed: 2, Skipped: 1,
		StartedAt: time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 12, 2, 7, 5, 0, 0, time.UTC)}

	var mu sync.Mutex
	var queues []string
	mux := asynq.NewServeMux()
	mux.Use(func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			if t.Type() == TypeDeliver {
				q, _ := asynq.GetQueueName(ctx)
				mu.Lock()
				queues = append(queues, q)
				mu.Unlock()
			}
			return next.ProcessTask(ctx, t)
		})
	})
	mux.HandleFunc("test:finish-batch", func(ctx context.Context, _ *asynq.Task) error {
		return emitter.BatchCompleted(ctx, summary)
	})
	b.serve(t, NewHandler(d), mux)
	if _, err := b.client.Enqueue(asynq.NewTask("test:finish-batch", nil), asynq.Queue("critical")); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "three attempts", func() bool { return len(rc.got()) >= 3 })
	waitFor(t, "the delivered state", func() bool {
		s, _ := States(t.Context(), b.rdb, []Receiver{recv})
		return s[0].Delivered == 1
	})
	time.Sleep(300 * time.Millisecond) // a fourth attempt would show now
	hits := rc.got()
	if len(hits) != 3 {
		t.Fatalf("%d attempts, want 3", len(hits))
	}
	id := hits[0].header.Get(HeaderDelivery)
	for i, h := range hits {
		if h.valid != nil {
			t.Errorf("attempt %d: signature: %v", i+1, h.valid)
		}
		if h.header.Get(HeaderEvent) != EventBatchCompleted || h.header.Get(HeaderDelivery) != id || id == "" {
			t.Errorf("attempt %d: event %q delivery %q, want %q %q", i+1, h.header.Get(HeaderEvent), h.header.Get(HeaderDelivery), EventBatchCompleted, id)
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("attempt %d: Content-Type %q", i+1, ct)
		}
	}
	var got BatchSummary
	body := decodeBody(t, hits[2].body, &got)
	if body.ID != id || body.Event != EventBatchCompleted || got != summary {
		t.Errorf("body = %+v %+v, want id %s and %+v", body, got, id, summary)
	}
	mu.Lock()
	for _, q := range queues {
		if q != "critical" {
			t.Errorf("a delivery ran on queue %q, want critical (the emitting task's)", q)
		}
	}
	mu.Unlock()

	states, err := States(t.Context(), b.rdb, []Receiver{recv})
	if err != nil {
		t.Fatal(err)
	}
	s := states[0]
	if s.Receiver != "accounting" || s.Target != rc.URL || s.Delivered != 1 || s.Failing || s.LastCode != "http_500" || s.LastDeliveredAt.IsZero() {
		t.Errorf("state = %+v", s)
	}
	per, err := BatchDeliveries(t.Context(), b.rdb, "b-2026")
	if err != nil || len(per) != 1 || per[0].Receiver != "accounting" || per[0].Event != EventBatchCompleted || per[0].Outcome != StateDelivered {
		t.Errorf("batch deliveries = %+v, %v", per, err)
	}
	for outcome, want := range map[string]float64{"http_5xx": 2, "ok": 1} {
		if got := testutil.ToFloat64(b.metrics.attempts.WithLabelValues(EventBatchCompleted, outcome)); got != want {
			t.Errorf("attempts{%s} = %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.ToFloat64(b.metrics.deliveries.WithLabelValues(EventBatchCompleted, outcomeDelivered)); got != 1 {
		t.Errorf("deliveries{delivered} = %v, want 1", got)
	}
	if logs := b.logs.String(); strings.Contains(logs, rc.URL) || !strings.Contains(logs, "will retry") {
		t.Errorf("logs name the URL or miss the retries:\n%s", logs)
	}
}

// Emitting the same completion twice (a re-run task) enqueues one delivery.
func TestSameBatchCompletionIsOneDelivery(t *testing.T) {
	b := setup(t)
	recv := Receiver{URL: "https://hooks.example.com/x", Secret: "whsec_never_in_payload", Events: []string{EventBatchCompleted, EventVendorHalted}}
	e := NewEmitter(b.deps(recv))
	s := BatchSummary{Batch: "b1", Total: 3, Succeeded: 3}
	for range 2 {
		if err := e.BatchCompleted(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if err := e.VendorHalted(t.Context(), "clova", "quota_exhausted"); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := b.inspector.ListPendingTasks("default")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 {
		t.Fatalf("%d pending tasks, want 2 (one per event)", len(pending))
	}
	for _, p := range pending {
		if p.Type != TypeDeliver || p.MaxRetry != MaxRetry || p.Timeout != AttemptTimeout || p.Deadline.IsZero() {
			t.Errorf("task %+v", p)
		}
		payload := string(p.Payload)
		if strings.Contains(payload, "hooks.example.com") || strings.Contains(payload, "whsec_never_in_payload") {
			t.Errorf("payload holds the URL or secret: %s", payload)
		}
	}
	s.Succeeded, s.Failed = 2, 1 // the counts changed: a new completion
	if err := e.BatchCompleted(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if info, _ := b.inspector.GetQueueInfo("default"); info.Pending != 3 {
		t.Errorf("%d pending after a changed completion, want 3", info.Pending)
	}
}
