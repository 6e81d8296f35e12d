package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/stack"
)

// TestRateLimitSharedByWorkers: three worker processes, each able to run 8
// calls at once, share one rateLimit equal to the vendor's own limit. The
// emulator enforces that limit strictly (CLOVA 400 0025 above it) and must
// never have had to say so.
func TestRateLimitSharedByWorkers(t *testing.T) {
	const n, rps, burst = 150, 20, 5
	s := newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "30ms", "--rps", strconv.Itoa(rps), "--burst", strconv.Itoa(burst)},
		Config:       faultConfig{RPS: rps, Burst: burst, Concurrency: 8, Workers: 8, MaxRetry: 3}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)
	startWorkers(t, s, 3)
	enqueueDocs(t, s, "rate", n)
	// 24 calls could be in flight at once: without the shared limit the
	// workers would ask for hundreds of calls a second.
	waitResults(t, out, "r/", n, 60*time.Second)
	results, calls := checkBatch(t, s, out, "r/", images, 1)
	if th := calls.calls["document/receipt 0025"]; th != 0 {
		t.Errorf("the emulator throttled %d calls: the workers together went over rps %d burst %d", th, rps, burst)
	}
	for k, r := range results {
		if r.Attempts != 1 {
			t.Errorf("%s: attempts %d", k, r.Attempts)
		}
	}
}

// TestQuotaHaltsEveryWorker: the vendor's quota runs out (CLOVA 400 0023).
// Every worker stops calling it; the remaining tasks wait in the queue
// (none failed, none archived, no retry used) until the quota is raised and
// an operator runs `producer resume clova`; then everything completes.
func TestQuotaHaltsEveryWorker(t *testing.T) {
	const n, quota, workers, perWorker = 100, 40, 2, 4
	s := newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "30ms", "--quota", strconv.Itoa(quota)},
		// maxRetry 0: a wait that counted as a failure would fail a document.
		Config: faultConfig{RPS: 500, Burst: 100, Concurrency: perWorker, Workers: perWorker, MaxRetry: 0,
			RateWait: "5s", HaltFor: "15m"}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)
	startWorkers(t, s, workers)
	enqueueDocs(t, s, "quota", n)

	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr})
	defer rdb.Close()
	gate := ratelimit.NewGate(rdb)
	err := stack.WaitFor(t.Context(), "the vendor halt", 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		_, halted, err := gate.Halted(t.Context(), "clova")
		return halted, err
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := gate.Halted(t.Context(), "clova")
	if st.Reason != "quota_exhausted" {
		t.Errorf("halt reason %q, want quota_exhausted", st.Reason)
	}

	// While halted: no more calls, no more results, nothing failed or archived.
	quotaAnswers := func() int {
		st, err := s.EmulatorStats(t.Context(), "clova-ocr")
		if err != nil {
			t.Fatal(err)
		}
		return st.Calls["document/receipt 0023"]
	}
	time.Sleep(time.Second) // calls already past the gate end
	before := quotaAnswers()
	time.Sleep(6 * time.Second) // longer than rateWait: waiting tasks were handed back meanwhile
	after := quotaAnswers()
	if after != before {
		t.Errorf("workers kept calling a halted vendor: %d quota answers, then %d", before, after)
	}
	if after > workers*perWorker {
		t.Errorf("%d quota answers: more than the %d calls that can be in flight when the halt starts", after, workers*perWorker)
	}
	if got := countResults(t, out, "r/"); got != quota {
		t.Errorf("%d results while halted, want exactly the %d the quota allowed", got, quota)
	}
	qi, err := s.QueueInfo("default")
	if err != nil {
		t.Fatal(err)
	}
	waiting := qi.Pending + qi.Active + qi.Retry + qi.Scheduled
	t.Logf("halted: %d quota answers; queue: %d pending, %d active, %d retry, %d archived",
		after, qi.Pending, qi.Active, qi.Retry, qi.Archived)
	if qi.Archived != 0 || waiting != n-quota {
		t.Errorf("queue while halted: %d archived, %d waiting; want 0 and %d", qi.Archived, waiting, n-quota)
	}

	// Raise the quota, then resume: the waiting tasks complete.
	if err := s.SetQuota(t.Context(), "clova-ocr", 0); err != nil {
		t.Fatal(err)
	}
	if o := producer(t, s, 0, "resume", "clova"); !strings.HasPrefix(o, "resumed clova;") {
		t.Errorf("resume: %q", o)
	}
	// The halt would have lasted haltFor; the resume runs the waiting tasks now.
	waitResults(t, out, "r/", n, 30*time.Second)
	// The emulator counts by image only the calls it admitted (not those
	// refused for the quota): one per document.
	results, calls := checkBatch(t, s, out, "r/", images, 1)
	for k, r := range results {
		if r.Attempts != 1 {
			t.Errorf("%s: attempts %d: waiting for the vendor counted as a failure", k, r.Attempts)
		}
	}
	if calls.calls["document/receipt 0023"] != after {
		t.Errorf("quota answers after the resume: %v", calls.calls)
	}
	if o := producer(t, s, 0, "status", "quota"); !strings.Contains(o, fmt.Sprintf("succeeded %d", n)) {
		t.Errorf("batch status: %q", o)
	}
	assertNoSecrets(t, s)
}
