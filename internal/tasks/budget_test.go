package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// slotlessGate refuses a vendor slot on the calls listed in refuse
// (1-based), as a full shared rate limit does after worker.rateWait.
type slotlessGate struct {
	recordingGate
	mu     sync.Mutex
	n      int
	refuse map[int]bool
}

func (g *slotlessGate) Acquire(context.Context) (func(error), time.Duration, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	if g.refuse[g.n] {
		return nil, 0, errors.New("no slot within rateWait")
	}
	return func(error) {}, 0, nil
}

// runServer runs the handler in a real asynq server on a real Redis, as
// cmd/worker does, and returns a client and an inspector on that Redis.
func runServer(t *testing.T, h *Handler) (*asynq.Client, *asynq.Inspector) {
	t.Helper()
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { rdb.Close() })
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 2, IsFailure: IsFailure, RetryDelayFunc: RetryDelay,
		DelayedTaskCheckInterval: 100 * time.Millisecond, LogLevel: asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	mux.Handle(layout.TypeRecognize, h)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	h.Requeuer = asynq.NewClientFromRedisClient(rdb)
	return asynq.NewClientFromRedisClient(rdb), asynq.NewInspectorFromRedisClient(rdb)
}

// waitResult waits for the result object of key in bucket out.
func waitResult(t *testing.T, f *fixture, key string, within time.Duration) (result.Result, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := f.store.Bucket("out").Head(t.Context(), key); err == nil {
			r, _ := f.result(t, key)
			return r, true
		} else if !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return result.Result{}, false
}

// TestRequeueOnTheLastTryIsNotArchived: with maxRetry 1, one 5xx uses the
// whole budget; a requeue (no rate slot) on the next try used to make asynq
// archive the task without a result (it checks Retried >= Retry before
// IsFailure). Both a task an old producer enqueued (asynq MaxRetry = the
// budget) and one enqueued today must still end with their result.
func TestRequeueOnTheLastTryIsNotArchived(t *testing.T) {
	for _, tc := range []struct {
		name       string
		asynqRetry int
	}{{"old producer", 1}, {"new producer", layout.RetryCeiling}} {
		t.Run(tc.name, func(t *testing.T) {
			unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503").WithVendor("0500", 503)
			f := newFixture(t, unavailable)
			gate := &slotlessGate{refuse: map[int]bool{2: true, 3: true}}
			f.h.Vendors["v"].Gate = gate
			f.h.MaxRetry = 1
			client, insp := runServer(t, f.h)
			p := receiptTask
			task, err := layout.NewRecognizeTask(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Enqueue(task, asynq.MaxRetry(tc.asynqRetry)); err != nil {
				t.Fatal(err)
			}
			r, ok := waitResult(t, f, "r/docs/a.png.json", 20*time.Second)
			if !ok {
				qi, _ := insp.GetQueueInfo("default")
				t.Fatalf("no result; queue %+v", qi)
			}
			if r.Status != result.StatusSucceeded || r.Attempts != 2 {
				t.Errorf("result %s attempts %d error %+v, want succeeded after 2 attempts (requeues do not count)", r.Status, r.Attempts, r.Error)
			}
			if f.vendor.calls != 2 {
				t.Errorf("%d vendor calls, want 2", f.vendor.calls)
			}
			time.Sleep(300 * time.Millisecond)
			qi, err := insp.GetQueueInfo("default")
			if err != nil {
				t.Fatal(err)
			}
			if qi.Archived != 0 || qi.Pending+qi.Retry+qi.Scheduled+qi.Active != 0 {
				t.Errorf("queue after the task: %+v", qi)
			}
		})
	}
}

// TestTransientFailuresBeyondTheBudgetEndWithAResult: a budget counted by
// the worker (maxRetry) ends a task enqueued with asynq's large safety-net
// MaxRetry as retries_exhausted, not as an endless retry.
func TestTransientFailuresBeyondTheBudgetEndWithAResult(t *testing.T) {
	unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503").WithVendor("0500", 503)
	f := newFixture(t, unavailable, unavailable, unavailable)
	f.h.MaxRetry = 1
	client, _ := runServer(t, f.h)
	task, err := layout.NewRecognizeTask(receiptTask)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(task, asynq.MaxRetry(layout.RetryCeiling)); err != nil {
		t.Fatal(err)
	}
	r, ok := waitResult(t, f, "r/docs/a.png.json", 20*time.Second)
	if !ok {
		t.Fatal("no result")
	}
	if r.Error == nil || r.Error.Code != "retries_exhausted" || r.Attempts != 2 || f.vendor.calls != 2 {
		t.Errorf("result %+v error %+v calls %d, want retries_exhausted after 2 attempts", r, r.Error, f.vendor.calls)
	}
}

// strictBatches counts like internal/batch: an id CheckID rejects is an error.
type strictBatches struct {
	noBooks
	finished int
}

func (b *strictBatches) Finish(_ context.Context, id, _, _, _ string) (bool, error) {
	if err := layout.CheckBatchID(id); err != nil {
		return false, err
	}
	b.finished++
	return false, nil
}
func (b *strictBatches) WriteSummary(context.Context, storage.Bucket, string, string) error {
	return nil
}

// TestBadBatchIsAnInvalidTaskResult: a batch id no batch can have (a
// schedule named "nightly receipts") used to requeue forever, one HEAD a
// second; it is a permanent invalid_task result.
func TestBadBatchIsAnInvalidTaskResult(t *testing.T) {
	f := newFixture(t)
	bs := &strictBatches{}
	f.h.Batches = bs
	b, _ := json.Marshal(layout.Recognize{V: layout.PayloadVersion, Source: "s3://in/docs/a.png", Type: result.TypeReceipt,
		Out: "s3://out/r/", Batch: "nightly receipts-20261202T0200"})
	if err := f.h.ProcessTask(t.Context(), asynq.NewTask(layout.TypeRecognize, b)); err != nil {
		t.Fatalf("bad batch: %v, want the task to end", err)
	}
	r, _ := f.result(t, "r/docs/a.png.json")
	if r.Error == nil || r.Error.Code != "invalid_task" || !strings.Contains(r.Error.Message, "batch") {
		t.Errorf("bad batch: %+v", r.Error)
	}
	if f.vendor.calls != 0 || bs.finished != 0 {
		t.Errorf("vendor calls %d, batch counts %d; want 0 and 0", f.vendor.calls, bs.finished)
	}
}

// TestVendorRetryAfterIsCapped: a 5xx or throttle asking for a year's wait
// retries or requeues within worker.maxRetryAfter (default 5m), not a year.
func TestVendorRetryAfterIsCapped(t *testing.T) {
	year := 365 * 24 * time.Hour
	unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503").WithVendor("0500", 503)
	unavailable.RetryAfter = year
	var throttles []error
	for i := 0; i <= throttleRetries; i++ {
		throttles = append(throttles, ocrerr.Throttled("0025", 400, year))
	}
	for name, script := range map[string][]error{"5xx": {unavailable}, "throttle": throttles} {
		f := newFixture(t, script...)
		err := f.run(t, receiptTask, 0, 3)
		if err == nil {
			t.Fatalf("%s: no retry", name)
		}
		if d := RetryDelay(0, err, nil); d > 6*time.Minute {
			t.Errorf("%s: retried after %v, want at most 5m (+jitter)", name, d)
		}
	}
}

// The safety net must stay out of reach of any budget the config accepts.
func TestRetryCeilingAboveEveryBudget(t *testing.T) {
	if layout.RetryCeiling <= config.MaxRetryLimit {
		t.Fatalf("layout.RetryCeiling %d <= config.MaxRetryLimit %d", layout.RetryCeiling, config.MaxRetryLimit)
	}
}
