package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/stack"
)

// throttleShare runs n documents through two workers (8 calls each) against
// a CLOVA emulator that allows 4 calls in flight, with the given rateLimit,
// and returns the share of vendor calls it throttled (0025). Every document
// must end with a succeeded result whatever the share.
func throttleShare(t *testing.T, limits string, n int) (share float64, s *stack.Stack) {
	t.Helper()
	s = newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "50ms", "--jitter", "50ms", "--max-concurrent", "4"},
		Config:       faultConfig{Limits: limits, Concurrency: 8, Workers: 8, MaxRetry: 3}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)
	startWorkers(t, s, 2)
	enqueueDocs(t, s, "adapt", n)
	waitResults(t, out, "r/", n, 90*time.Second)
	// A throttled call is retried, so a document may cost many calls;
	// the bound is only there to print the histogram.
	_, calls := checkBatch(t, s, out, "r/", images, 1000)
	throttled := calls.calls["document/receipt 0025"]
	all := throttled + calls.calls["document/receipt SUCCESS"]
	if all == 0 {
		t.Fatalf("no vendor calls counted: %v", calls.calls)
	}
	return float64(throttled) / float64(all), s
}

// TestAdaptiveLearnsAnUnconfiguredLimit: a vendor with no limit in the
// config is adaptive. Against a vendor that allows 4 calls in flight, the
// workers learn that limit together and throttle far fewer calls than
// with adaptation switched off (adaptive: false, today's unlimited). Loose
// bounds only: the bench measures how close to the limit they get.
func TestAdaptiveLearnsAnUnconfiguredLimit(t *testing.T) {
	off, _ := throttleShare(t, "{adaptive: false}", 60)
	on, s := throttleShare(t, "{}", 150)
	t.Logf("throttled share of calls: %.1f%% unlimited, %.1f%% adaptive", 100*off, 100*on)
	if off < 0.3 {
		t.Fatalf("without adaptation only %.1f%% of calls were throttled: the test does not overload the vendor", 100*off)
	}
	if on > 0.15 || on > off/3 {
		t.Errorf("adaptive: %.1f%% of calls throttled, want well under the %.1f%% without adaptation (at most 15%%, a third)", 100*on, 100*off)
	}
	// The fleet's estimate is shared in Redis and shown by producer status.
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr})
	defer rdb.Close()
	st, ok, err := ratelimit.Learned(t.Context(), rdb, "clova")
	if err != nil || !ok {
		t.Fatalf("learned limits: %v %v", ok, err)
	}
	if st.InFlight < 1 || st.InFlight > 8 {
		t.Errorf("learned %d calls in flight against a vendor limit of 4", st.InFlight)
	}
	if o := producer(t, s, 0, "status", "adapt"); !strings.Contains(o, "vendor clova: ") || !strings.Contains(o, "learned ") {
		t.Errorf("status does not show the learned limits:\n%s", o)
	}
}

// TestBudgetHaltsThenResumes: a budget of 20 calls a day, 30 documents.
// The dry run says the enqueue costs 10 calls more than are left; the
// workers make exactly 20 calls, then the vendor is halted (budget_exhausted)
// and the rest wait in the queue, none failed; `producer resume` lifts the
// budget for the day and the rest complete.
func TestBudgetHaltsThenResumes(t *testing.T) {
	const n, budget = 30, 20
	s := newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "30ms"},
		Config: faultConfig{RPS: 200, Burst: 50, Concurrency: 4, Workers: 4, MaxRetry: 0, RateWait: "3s",
			Budget: "{calls: 20, per: day, timezone: Asia/Seoul}"}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)

	dry := producer(t, s, 0, "enqueue", "--dry-run", "--type", "receipt", "--out", "s3://outbox/r/", "s3://inbox/docs/")
	lines := strings.Split(strings.TrimSpace(dry), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "clova 30 of 20 left this day, 10 over") ||
		!strings.HasPrefix(lines[1], "enqueued 30 skipped 0 batch ") {
		t.Errorf("dry run printed:\n%s", dry)
	}

	startWorkers(t, s, 2)
	enqueueDocs(t, s, "budget", n)
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr})
	defer rdb.Close()
	gate := ratelimit.NewGate(rdb)
	err := stack.WaitFor(t.Context(), "the budget halt", 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		_, halted, err := gate.Halted(t.Context(), "clova")
		return halted, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := gate.Halted(t.Context(), "clova"); st.Reason != "budget_exhausted" || st.Until.Before(time.Now().Add(time.Minute)) {
		t.Errorf("halt %+v, want budget_exhausted until the next day in Seoul", st)
	}
	time.Sleep(4 * time.Second) // longer than rateWait: waiting tasks were handed back meanwhile
	if c := vendorCalls(t, s, images); c.calls["document/receipt SUCCESS"] != budget || c.total != budget {
		t.Errorf("vendor calls while halted: %s; want exactly the budget, %d", c, budget)
	}
	if got := countResults(t, out, "r/"); got != budget {
		t.Errorf("%d results, want %d", got, budget)
	}
	qi, err := s.QueueInfo("default")
	if err != nil {
		t.Fatal(err)
	}
	if waiting := qi.Pending + qi.Active + qi.Retry + qi.Scheduled; qi.Archived != 0 || waiting != n-budget {
		t.Errorf("queue while halted: %d archived, %d waiting; want 0 and %d", qi.Archived, waiting, n-budget)
	}
	st := producer(t, s, 0, "status", "budget")
	if !strings.Contains(st, "budget 0 of 20 left this day") || !strings.Contains(st, "20 calls in this batch") {
		t.Errorf("status while halted:\n%s", st)
	}

	if o := producer(t, s, 0, "resume", "clova"); !strings.HasPrefix(o, "resumed clova;") {
		t.Errorf("resume: %q", o)
	}
	results, _ := checkBatch(t, s, out, "r/", images, 1)
	for k, r := range results {
		if r.Attempts != 1 {
			t.Errorf("%s: attempts %d: waiting for the budget counted as a failure", k, r.Attempts)
		}
	}
	if st := producer(t, s, 0, "status", "budget"); !strings.Contains(st, "succeeded 30") || !strings.Contains(st, "30 vendor calls") {
		t.Errorf("status after the resume:\n%s", st)
	}
}
