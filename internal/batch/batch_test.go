package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

func newTracker(t *testing.T) (*Tracker, *redis.Client) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.StartRedis(t).Addr})
	t.Cleanup(func() { rdb.Close() })
	return New(rdb), rdb
}

func TestBatchLifecycle(t *testing.T) {
	ctx := context.Background()
	tr, rdb := newTracker(t)
	const id = "2026-11-24-receipts"

	mustNil(t, tr.AddSources(ctx, id, "s3://in/a.jpg", "s3://in/b.jpg", "s3://in/c.jpg"))
	mustNil(t, tr.AddSkipped(ctx, id, 1))
	done := mustFinish(t, tr, id, "s3://in/a.jpg", StatusSucceeded, "")
	done = done || mustFinish(t, tr, id, "s3://in/b.jpg", StatusFailed, "vendor_rejected")
	done = done || mustFinish(t, tr, id, "s3://in/c.jpg", StatusSucceeded, "")
	if done {
		t.Fatal("batch reported done before the producer sealed it")
	}
	s := mustGet(t, tr, id)
	if s.Done || s.Total != 4 || s.Succeeded != 2 || s.Failed != 1 || s.Skipped != 1 || s.Pending() != 0 {
		t.Fatalf("before seal: %+v", s)
	}

	// Every source already has an outcome, so sealing completes the batch.
	sealDone, err := tr.Seal(ctx, id)
	mustNil(t, err)
	if !sealDone {
		t.Fatal("Seal did not report done for a fully processed batch")
	}
	s = mustGet(t, tr, id)
	if !s.Done || s.FinishedAt.IsZero() || s.Percent() != 100 {
		t.Fatalf("after seal: %+v", s)
	}
	// A second Seal does not report done again (one summary writer).
	again, err := tr.Seal(ctx, id)
	mustNil(t, err)
	if again {
		t.Error("second Seal reported done again")
	}

	fails, err := tr.Failures(ctx, id)
	mustNil(t, err)
	if len(fails) != 1 || fails[0] != (Failure{Source: "s3://in/b.jpg", Code: "vendor_rejected"}) {
		t.Fatalf("failures = %+v", fails)
	}

	// No TTL: status must outlive a day.
	for _, k := range append(keys(id), indexKey) {
		if n, _ := rdb.Exists(ctx, k).Result(); n == 0 {
			continue // the sources/failures hash may be empty, then it does not exist
		}
		if ttl, err := rdb.TTL(ctx, k).Result(); err != nil || ttl != -1 {
			t.Errorf("%s has TTL %v (%v), want none", k, ttl, err)
		}
	}

	ids, err := tr.List(ctx, 0)
	mustNil(t, err)
	if len(ids) != 1 || ids[0] != id {
		t.Errorf("List = %v", ids)
	}

	mustNil(t, tr.Delete(ctx, id))
	if _, err := tr.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if n, _ := rdb.Exists(ctx, keys(id)...).Result(); n != 0 {
		t.Errorf("%d keys left after Delete", n)
	}
	if ids, _ := tr.List(ctx, 0); len(ids) != 0 {
		t.Errorf("index still lists %v", ids)
	}
}

func TestLastFinishCompletesSealedBatch(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	const id = "b1"
	mustNil(t, tr.AddSources(ctx, id, "s3://in/1", "s3://in/2"))
	if done, err := tr.Seal(ctx, id); err != nil || done {
		t.Fatalf("Seal = %v, %v; want not done", done, err)
	}
	if mustFinish(t, tr, id, "s3://in/1", StatusSucceeded, "") {
		t.Fatal("done after 1 of 2")
	}
	if !mustFinish(t, tr, id, "s3://in/2", StatusFailed, "too_large") {
		t.Fatal("last Finish did not report done")
	}
}

func TestRerunCountsASourceOnceWithItsLatestOutcome(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	const id = "rerun"
	mustNil(t, tr.AddSources(ctx, id, "s3://in/x", "s3://in/y"))
	_, err := tr.Seal(ctx, id)
	mustNil(t, err)

	mustFinish(t, tr, id, "s3://in/x", StatusFailed, "vendor_unavailable")
	// The same task delivered again (crash after Finish) does not double
	// count, even with another outcome (a forced task that ran again).
	for _, st := range []string{StatusFailed, StatusSucceeded} {
		if mustFinish(t, tr, id, "s3://in/x", st, "vendor_unavailable") {
			t.Error("duplicate Finish reported done")
		}
	}
	s := mustGet(t, tr, id)
	if s.Failed != 1 || s.Succeeded != 0 || s.Done || s.InFlight != 1 {
		t.Fatalf("after duplicate: %+v", s)
	}
	// A source no enqueue registered counts nothing either.
	if mustFinish(t, tr, id, "s3://in/stranger", StatusSucceeded, "") {
		t.Error("an unregistered source completed the batch")
	}
	if !mustFinish(t, tr, id, "s3://in/y", StatusSucceeded, "") {
		t.Fatal("batch not done")
	}
	// An operator enqueues the failed source into the same batch again
	// (--force) and it succeeds, replacing the batch's own failed result:
	// one source, its latest outcome, and the done batch's summary is
	// rewritten.
	mustNil(t, tr.AddSources(ctx, id, "s3://in/x"))
	if _, err := tr.Seal(ctx, id); err != nil {
		t.Fatal(err)
	}
	done, err := tr.FinishReplacing(ctx, id, "s3://in/x", StatusSucceeded, "", StatusFailed)
	mustNil(t, err)
	if !done {
		t.Error("changing a done batch did not report done")
	}
	s = mustGet(t, tr, id)
	if s.Total != 2 || s.Failed != 0 || s.Succeeded != 2 || !s.Done || s.InFlight != 0 {
		t.Fatalf("after re-run: %+v", s)
	}
	if f, _ := tr.Failures(ctx, id); len(f) != 0 {
		t.Errorf("failures after success = %+v", f)
	}
}

func TestEnqueueMoreReopensADoneBatch(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	const id = "reopen"
	mustNil(t, tr.AddSources(ctx, id, "s3://in/1"))
	mustFinish(t, tr, id, "s3://in/1", StatusSucceeded, "")
	if done, _ := tr.Seal(ctx, id); !done {
		t.Fatal("not done")
	}
	mustNil(t, tr.AddSources(ctx, id, "s3://in/2"))
	s := mustGet(t, tr, id)
	if s.Done || s.Sealed || s.Pending() != 1 {
		t.Fatalf("after reopening: %+v", s)
	}
	mustFinish(t, tr, id, "s3://in/2", StatusSucceeded, "")
	if done, _ := tr.Seal(ctx, id); !done {
		t.Fatal("not done after second seal")
	}
}

func TestConcurrentFinishesCountExactlyOnceAndOneReportsDone(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	const id, n = "concurrent", 200
	var srcs []string
	for i := range n {
		srcs = append(srcs, fmt.Sprintf("s3://in/%d.jpg", i))
	}
	mustNil(t, tr.AddSources(ctx, id, srcs...))
	_, err := tr.Seal(ctx, id)
	mustNil(t, err)

	var wg sync.WaitGroup
	var mu sync.Mutex
	dones := 0
	for w := range 8 {
		wg.Go(func() {
			// Every worker finishes every source: 8 deliveries of each.
			for i := range n {
				src := (i + w) % n
				st, code := StatusSucceeded, ""
				if src%10 == 0 {
					st, code = StatusFailed, "recognition_failed"
				}
				d, err := tr.Finish(ctx, id, fmt.Sprintf("s3://in/%d.jpg", src), st, code)
				if err != nil {
					t.Error(err)
					return
				}
				if d {
					mu.Lock()
					dones++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	s := mustGet(t, tr, id)
	if s.Succeeded != 180 || s.Failed != 20 || !s.Done {
		t.Fatalf("status = %+v", s)
	}
	if dones != 1 {
		t.Errorf("%d calls reported done, want exactly 1", dones)
	}
}

func TestSummaryJSON(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	const id = "sum"
	mustNil(t, tr.AddSources(ctx, id, "s3://in/z.jpg", "s3://in/a.jpg", "s3://in/m.jpg"))
	mustFinish(t, tr, id, "s3://in/z.jpg", StatusFailed, "too_large")
	mustFinish(t, tr, id, "s3://in/a.jpg", StatusFailed, "source_not_found")
	mustFinish(t, tr, id, "s3://in/m.jpg", StatusSucceeded, "")
	_, err := tr.Seal(ctx, id)
	mustNil(t, err)

	s := mustGet(t, tr, id)
	fails, err := tr.Failures(ctx, id)
	mustNil(t, err)
	b, err := s.Summary(fails)
	mustNil(t, err)

	var got struct {
		Schema     string    `json:"schema"`
		Batch      string    `json:"batch"`
		Done       bool      `json:"done"`
		Total      int64     `json:"total"`
		Succeeded  int64     `json:"succeeded"`
		Failed     int64     `json:"failed"`
		Skipped    int64     `json:"skipped"`
		StartedAt  time.Time `json:"startedAt"`
		FinishedAt time.Time `json:"finishedAt"`
		Failures   []Failure `json:"failures"`
	}
	mustNil(t, json.Unmarshal(b, &got))
	if got.Schema != SummarySchema || got.Batch != id || !got.Done || got.Total != 3 ||
		got.Succeeded != 1 || got.Failed != 2 || got.StartedAt.IsZero() || got.FinishedAt.Before(got.StartedAt) {
		t.Fatalf("summary = %s", b)
	}
	want := []Failure{{"s3://in/a.jpg", "source_not_found"}, {"s3://in/z.jpg", "too_large"}}
	if fmt.Sprint(got.Failures) != fmt.Sprint(want) {
		t.Errorf("failures = %v, want %v (sorted by source)", got.Failures, want)
	}

	empty, err := Status{ID: "e"}.Summary(nil)
	mustNil(t, err)
	if !bytes.Contains(empty, []byte(`"failures": []`)) {
		t.Errorf("no failures should be an empty list: %s", empty)
	}
}

func TestPrintAndRate(t *testing.T) {
	start := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	s := Status{ID: "b", Total: 100, Succeeded: 50, Failed: 5, Skipped: 2, Sealed: true, StartedAt: start}
	now := start.Add(11 * time.Second)
	if r := s.Rate(now); r != 5 {
		t.Errorf("rate = %v, want 5/s", r)
	}
	var buf bytes.Buffer
	mustNil(t, printAt(&buf, s, now))
	want := "batch b: 57/100 (57.0%) succeeded 50 failed 5 skipped 2 pending 43, 5.0 docs/s, eta 9s\n"
	if buf.String() != want {
		t.Errorf("Print =\n%q\nwant\n%q", buf.String(), want)
	}

	s.Done, s.FinishedAt, s.Succeeded, s.Failed, s.Skipped, s.Calls = true, start.Add(90*time.Second), 90, 8, 2, 131
	buf.Reset()
	mustNil(t, printAt(&buf, s, now.Add(time.Hour)))
	if !strings.HasSuffix(buf.String(), "1.1 docs/s, done in 1m30s, 131 vendor calls\n") {
		t.Errorf("done line = %q", buf.String())
	}
}

func TestFollowEndsWhenBatchIsDone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, _ := newTracker(t)
	const id = "follow"
	mustNil(t, tr.AddSources(ctx, id, "s3://in/0", "s3://in/1"))
	_, err := tr.Seal(ctx, id)
	mustNil(t, err)
	go func() {
		for i := range 2 {
			time.Sleep(100 * time.Millisecond)
			_, _ = tr.Finish(ctx, id, fmt.Sprint("s3://in/", i), StatusSucceeded, "")
		}
	}()
	var out bytes.Buffer
	s, err := tr.Follow(ctx, &out, id, 20*time.Millisecond)
	mustNil(t, err)
	if !s.Done || s.Succeeded != 2 {
		t.Fatalf("Follow returned %+v", s)
	}
	if !strings.Contains(out.String(), "2/2") {
		t.Errorf("progress output lacks 2/2: %q", out.String())
	}
}

func TestRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	for _, id := range []string{"", "a/b", "{x}", "-x", strings.Repeat("a", 129)} {
		if err := tr.AddSources(ctx, id, "s3://b/k"); err == nil {
			t.Errorf("AddSources accepted id %q", id)
		}
	}
	if _, err := tr.Finish(ctx, "ok", "s3://b/k", "maybe", ""); err == nil {
		t.Error("Finish accepted an unknown status")
	}
	if err := layout.CheckBatchID(NewID(time.Now())); err != nil {
		t.Errorf("NewID gives invalid id: %v", err)
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, tr *Tracker, id string) Status {
	t.Helper()
	s, err := tr.Get(context.Background(), id)
	mustNil(t, err)
	return s
}

func mustFinish(t *testing.T, tr *Tracker, id, src, status, code string) bool {
	t.Helper()
	done, err := tr.Finish(context.Background(), id, src, status, code)
	mustNil(t, err)
	return done
}

// Vendor calls are counted per batch (retries and throttles included) and
// land in the summary; a batch that is gone is not brought back by a late
// call.
func TestCallsCountedInStatusAndSummary(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	mustNil(t, tr.AddSources(ctx, "c", "s3://in/a"))
	for _, v := range []string{"clova", "clova", "nhn"} {
		mustNil(t, tr.Spent(ctx, "c", v, 0, 1))
	}
	mustFinish(t, tr, "c", "s3://in/a", StatusSucceeded, "")
	st, err := tr.Get(ctx, "c")
	mustNil(t, err)
	if st.Calls != 3 || st.VendorCalls["clova"] != 2 || st.VendorCalls["nhn"] != 1 {
		t.Fatalf("calls = %d %v, want 3: clova 2, nhn 1", st.Calls, st.VendorCalls)
	}
	b, err := tr.Summary(ctx, "c")
	mustNil(t, err)
	if !bytes.Contains(b, []byte(`"vendorCalls": 3`)) {
		t.Errorf("summary lacks the calls: %s", b)
	}
	mustNil(t, tr.Spent(ctx, "gone", "clova", 0, 1))
	if _, err := tr.Get(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a call for a batch that is gone made it exist: %v", err)
	}
}
