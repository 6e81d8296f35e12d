package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// Fault tests (issue #5 item 6): real worker processes, real Redis and
// MinIO, the emulator injecting vendor faults. Each ends with every source
// having exactly one correct result, and reports the emulator's count of
// vendor calls per document.

// faultConfig is a one-vendor configuration: every receipt goes to the
// CLOVA OCR emulator.
type faultConfig struct {
	RPS         float64
	Burst       int
	Concurrency int    // vendor calls in flight per worker process
	Timeout     string // per vendor call
	Workers     int    // tasks in flight per worker process
	MaxRetry    int
	RateWait    string
	HaltFor     string
	// Limits, if set, replaces rateLimit's {rps, burst} (YAML flow map:
	// "{}" is no limit, hence adaptive); Budget, if set, is budget's.
	Limits string
	Budget string
}

func (c faultConfig) String() string {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	limits := fmt.Sprintf("{rps: %g, burst: %d}", c.RPS, c.Burst)
	if c.Limits != "" {
		limits = c.Limits
	}
	budget := ""
	if c.Budget != "" {
		budget = "\n    budget: " + c.Budget
	}
	return fmt.Sprintf(`
redis:
  url: {{REDIS}}
storage:
  endpoint: {{S3}}
  region: us-east-1
  pathStyle: true
vendors:
  clova:
    kind: clova-ocr
    url: {{EMU}}/clova-ocr
    secret: ${CLOVA_OCR_SECRET}
    mode: multipart
    rateLimit: %s%s
    concurrency: %d
    timeout: %s
    haltFor: %s
routes:
  receipt: clova
worker:
  concurrency: %d
  maxRetry: %d
  shutdownTimeout: 5s
  rateWait: %s
`, limits, budget, c.Concurrency, def(c.Timeout, "5s"), def(c.HaltFor, "15m"), c.Workers, c.MaxRetry, def(c.RateWait, "1m"))
}

// docs uploads n small distinct receipts as docs/NNNN.png and returns
// key -> image bytes.
func docs(t *testing.T, b storage.Bucket, n int) map[string][]byte {
	t.Helper()
	images := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		images[fmt.Sprintf("docs/%04d.png", i)] = testimages.PNG(int64(1000+i), 12, 12, nil)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		keys = make(chan string)
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				img := images[k]
				if _, err := b.Put(t.Context(), k, bytes.NewReader(img), int64(len(img)), storage.PutOptions{}); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for k := range images {
		keys <- k
	}
	close(keys)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("upload: %v", errs[0])
	}
	return images
}

func startWorkers(t *testing.T, s *stack.Stack, n int, args ...string) []*stack.Proc {
	t.Helper()
	ws := make([]*stack.Proc, n)
	for i := range ws {
		w, err := s.StartWorker(args...)
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	return ws
}

func countResults(t *testing.T, b storage.Bucket, prefix string) int {
	t.Helper()
	n := 0
	err := b.List(t.Context(), prefix, "", func(o storage.ObjectInfo) error {
		if strings.HasSuffix(o.Key, ".json") && !layout.Reserved(o.Key) {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// callStats is the emulator's count of vendor calls per document.
type callStats struct {
	perDoc map[string]int // source key -> calls that carried its image
	total  int
	max    int
	hist   map[int]int // calls -> documents
	calls  map[string]int
}

func (c callStats) String() string {
	var ks []int
	for k := range c.hist {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%d call(s): %d docs", k, c.hist[k]))
	}
	return fmt.Sprintf("%d vendor calls for %d docs, max %d per doc [%s]; outcomes %v",
		c.total, len(c.perDoc), c.max, strings.Join(parts, ", "), c.calls)
}

func vendorCalls(t *testing.T, s *stack.Stack, images map[string][]byte) callStats {
	t.Helper()
	st, err := s.EmulatorStats(t.Context(), "clova-ocr")
	if err != nil {
		t.Fatal(err)
	}
	c := callStats{perDoc: map[string]int{}, hist: map[int]int{}, calls: st.Calls}
	for k, img := range images {
		n := st.CallsByImage[sha(img)]
		c.perDoc[k] = n
		c.total += n
		c.max = max(c.max, n)
		c.hist[n]++
	}
	return c
}

// checkBatch asserts that every source has exactly one succeeded result,
// traceable to its image, and nothing else is under the prefix; that no
// task was archived or is left; and that every document cost at least one
// and at most maxCalls vendor calls. It returns the results and the calls.
func checkBatch(t *testing.T, s *stack.Stack, out storage.Bucket, prefix string, images map[string][]byte, maxCalls int) (map[string]Result, callStats) {
	t.Helper()
	keys := waitResults(t, out, prefix, len(images), 10*time.Second)
	if len(keys) != len(images) {
		t.Errorf("%d results under %s, want %d (one per source)", len(keys), prefix, len(images))
	}
	results := map[string]Result{}
	for key, img := range images {
		rkey := prefix + key + ".json"
		if !keys[rkey] {
			t.Errorf("no result for %s", key)
			continue
		}
		r := readResult(t, out, rkey)
		results[key] = r
		if r.Status != result.StatusSucceeded || r.DocumentType != result.TypeReceipt {
			t.Errorf("%s: status %q type %q error %+v", key, r.Status, r.DocumentType, r.Error)
			continue
		}
		if r.Source["uri"] != "s3://inbox/"+key || r.Source["sha256"] != sha(img) {
			t.Errorf("%s: source %v", key, r.Source)
		}
		checkFields(t, key, result.TypeReceipt, r.Fields, img)
	}
	// Every result is written, but a task whose completion Redis lost (the
	// AOF's last second, see docs/crash-safety.md) runs once more: it finds
	// its result, makes no vendor call and counts it. Let those drain.
	var qi *asynq.QueueInfo
	err := stack.WaitFor(t.Context(), "the queue to drain", 30*time.Second, 200*time.Millisecond, func() (bool, error) {
		var err error
		qi, err = s.QueueInfo("default")
		return err == nil && qi.Pending+qi.Active+qi.Retry+qi.Scheduled == 0, err
	})
	if err != nil && qi == nil {
		t.Fatal(err)
	}
	if qi.Archived != 0 || qi.Pending != 0 || qi.Retry != 0 || qi.Scheduled != 0 {
		t.Errorf("queue after the batch: %d archived, %d pending, %d retry, %d scheduled; want all 0",
			qi.Archived, qi.Pending, qi.Retry, qi.Scheduled)
	}
	calls := vendorCalls(t, s, images)
	t.Logf("vendor calls: %s", calls)
	for k, n := range calls.perDoc {
		if n < 1 || n > maxCalls {
			t.Errorf("%s: %d vendor calls, want 1..%d", k, n, maxCalls)
		}
	}
	return results, calls
}

// enqueueDocs enqueues every object under s3://inbox/docs/ as receipts.
func enqueueDocs(t *testing.T, s *stack.Stack, batch string, n int) {
	t.Helper()
	o := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "--batch", batch, "s3://inbox/docs/")
	if got, _, _ := enqueuedLine(t, o); got != n {
		t.Fatalf("enqueued %d, want %d: %q", got, n, o)
	}
}

// TestFaultKillWorkers: three workers, 500 documents; one worker is killed
// with SIGKILL every 1-2 s and started again. Tasks a killed worker held
// come back once asynq finds their lease expired; results that were
// already written cost no second vendor call.
func TestFaultKillWorkers(t *testing.T) {
	const n, maxRetry, perWorker = 500, 3, 4
	s := newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "150ms", "--jitter", "100ms"},
		Config:       faultConfig{RPS: 500, Burst: 100, Concurrency: perWorker, Workers: perWorker, MaxRetry: maxRetry}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)
	workers := startWorkers(t, s, 3)
	enqueueDocs(t, s, "kill", n)

	// Kill for a bounded window while the batch runs, so the wait for
	// asynq's lease recovery (below) stays bounded too.
	start := time.Now()
	kills, lastKill := 0, time.Time{}
	for i := 0; time.Since(start) < 12*time.Second; i++ {
		time.Sleep(time.Second + time.Duration(i%3)*500*time.Millisecond)
		if countResults(t, out, "r/") >= n {
			break
		}
		w := workers[i%len(workers)]
		w.Kill()
		kills, lastKill = kills+1, time.Now()
		nw, err := s.StartWorker()
		if err != nil {
			t.Fatal(err)
		}
		workers[i%len(workers)] = nw
	}
	t.Logf("%d workers killed with SIGKILL; %d of %d results after %s", kills, countResults(t, out, "r/"), n, time.Since(start).Round(time.Second))
	if kills < 5 {
		t.Fatalf("only %d kills happened before the batch ended: the test proves little", kills)
	}

	// asynq (v0.26) gives a task a 30 s lease, extended every few seconds;
	// its recoverer takes back tasks whose lease expired more than 30 s ago,
	// at server start and then every minute. A worker started once that
	// point has passed recovers every orphan at once.
	done := func() (bool, error) { return countResults(t, out, "r/") >= n, nil }
	if err := stack.WaitFor(t.Context(), "results", time.Until(lastKill.Add(61*time.Second)), 500*time.Millisecond, done); err != nil {
		if _, err := s.StartWorker(); err != nil {
			t.Fatal(err)
		}
		if err := stack.WaitFor(t.Context(), "every result after lease recovery", 30*time.Second, 500*time.Millisecond, done); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("all results after %s", time.Since(start).Round(time.Second))

	// A killed task may have been in its vendor call, so it may cost one
	// more call when it runs again; never more than its retry budget, and
	// never more extra calls than tasks were in flight at the kills.
	results, calls := checkBatch(t, s, out, "r/", images, maxRetry+1)
	if extra := calls.total - n; extra > kills*perWorker {
		t.Errorf("%d extra vendor calls for %d kills of workers running %d tasks each", extra, kills, perWorker)
	}
	for k, r := range results {
		if r.Attempts > maxRetry+1 {
			t.Errorf("%s: attempts %d", k, r.Attempts)
		}
	}
	st := producer(t, s, 0, "status", "kill")
	if !strings.Contains(st, fmt.Sprintf("succeeded %d", n)) {
		t.Errorf("batch status: %q", st)
	}
}

// TestFaultServerRestart: Redis (AOF on) or the object store restarts
// mid-batch. Queued tasks, batch counts and rate-limit state survive,
// workers reconnect, tasks retry, and every document ends with one correct
// result. A task that read its image but could not write its result calls
// the vendor again on its next run: a few documents may cost 2 calls.
func TestFaultServerRestart(t *testing.T) {
	const n = 200
	for _, name := range []string{"redis", "minio"} {
		t.Run(name, func(t *testing.T) {
			s := newStack(t, stack.Options{
				EmulatorArgs: []string{"--latency", "100ms"},
				Config:       faultConfig{RPS: 500, Burst: 100, Concurrency: 4, Workers: 4, MaxRetry: 3}.String(),
			})
			in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
			images := docs(t, in, n)
			startWorkers(t, s, 2)
			enqueueDocs(t, s, name, n)
			waitResults(t, out, "r/", n/4, time.Minute)
			stop, restart := s.Redis.Stop, s.Redis.Restart
			if name == "minio" {
				stop, restart = s.MinIO.Stop, s.MinIO.Restart
			}
			// Down for a few seconds, not just a blink: workers see refused
			// connections in the handler, the limiter, the batch counters,
			// asynq and storage.
			written := countResults(t, out, "r/")
			stop()
			t.Logf("%s stopped with about %d of %d results written", name, written, n)
			time.Sleep(3 * time.Second)
			if err := restart(); err != nil {
				t.Fatal(err)
			}
			// Tasks that ended while Redis was down must not wait for asynq's
			// lease recovery (a minute or two): see internal/tasks/redisguard.go.
			waitResults(t, out, "r/", n, time.Minute)
			checkBatch(t, s, out, "r/", images, 4)
			st := producer(t, s, 0, "status", name)
			if !strings.Contains(st, fmt.Sprintf("succeeded %d", n)) {
				t.Errorf("batch status after the restart: %q", st)
			}
			// Storage errors quote object keys; keys may hold personal data,
			// so the logs name buckets and hosts only.
			logs, err := s.Logs()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(logs, "docs/0") {
				t.Error("an object key appears in a log line")
			}
		})
	}
}

// TestFaultVendorErrors: the vendor answers 5xx to a fifth of the calls
// and is too slow (beyond the client timeout) for a tenth. Every document
// still succeeds; each failed call was one counted attempt, so the
// emulator's calls per document equal the result's attempts.
func TestFaultVendorErrors(t *testing.T) {
	const n, maxRetry = 150, 8
	s := newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "20ms", "--server-error-rate", "0.2", "--slow-rate", "0.1", "--slow-delay", "3s"},
		Config:       faultConfig{RPS: 500, Burst: 100, Concurrency: 16, Workers: 16, MaxRetry: maxRetry, Timeout: "700ms"}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)
	startWorkers(t, s, 2)
	enqueueDocs(t, s, "errors", n)
	waitResults(t, out, "r/", n, 80*time.Second)
	results, calls := checkBatch(t, s, out, "r/", images, maxRetry+1)
	retried := 0
	for k, r := range results {
		if r.Attempts != calls.perDoc[k] {
			t.Errorf("%s: %d attempts but %d vendor calls", k, r.Attempts, calls.perDoc[k])
		}
		if r.Attempts > 1 {
			retried++
		}
	}
	// Slow answers were still answered (SUCCESS) after the client gave up.
	if calls.calls["document/receipt 0500"] == 0 || calls.calls["document/receipt SUCCESS"] <= n || retried == 0 {
		t.Errorf("no 5xx, no timeout or no retried document: the faults were not injected (%s)", calls)
	}
	t.Logf("%d of %d documents needed more than one attempt", retried, n)
}

// TestFaultThrottleBursts: the vendor throttles (CLOVA 400 0025) bursts of
// calls, switched on and off live. Throttles slow every worker down and are
// retried without counting a failure: with maxRetry 1, a single counted
// throttle would show as attempts 2, and two as a failed result.
func TestFaultThrottleBursts(t *testing.T) {
	const n = 150
	s := newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "20ms"},
		Config:       faultConfig{RPS: 100, Burst: 20, Concurrency: 8, Workers: 8, MaxRetry: 1}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)
	burst := emulator.Behavior{Latency: 20 * time.Millisecond, ThrottleRate: 0.7}
	calm := emulator.Behavior{Latency: 20 * time.Millisecond}
	if err := s.SetBehavior(t.Context(), "clova-ocr", burst); err != nil {
		t.Fatal(err)
	}
	startWorkers(t, s, 2)
	enqueueDocs(t, s, "throttle", n)
	// Bursts of throttling: 2 s on, 2 s off, three times.
	for i := 0; i < 3; i++ {
		time.Sleep(2 * time.Second)
		if err := s.SetBehavior(t.Context(), "clova-ocr", calm); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if i < 2 {
			if err := s.SetBehavior(t.Context(), "clova-ocr", burst); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitResults(t, out, "r/", n, 70*time.Second)
	results, calls := checkBatch(t, s, out, "r/", images, 1000)
	for k, r := range results {
		if r.Attempts != 1 {
			t.Errorf("%s: attempts %d: a throttle counted as a failure", k, r.Attempts)
		}
	}
	if calls.calls["document/receipt 0025"] == 0 {
		t.Errorf("the emulator never throttled: the test proves nothing (%s)", calls)
	}
}

// TestFaultRetryBudgetWithRateWaits (issue 10 item 1): maxRetry 1, every
// other document answered 5xx once (EMULATOR:FLAKY), and a rate limit so
// tight that most tasks are handed back for want of a slot. A flaky
// document has used its whole budget after its 5xx; its later requeues
// used to make asynq archive it without a result (4-7 of 12 lost). Every
// document ends with exactly one correct result, attempts counts failed
// tries only, and the batch completes. Tasks enqueued the old way (asynq
// MaxRetry = the budget, as producers before this fix did) also finish.
func TestFaultRetryBudgetWithRateWaits(t *testing.T) {
	const n, old = 16, 4
	s := newStack(t, stack.Options{
		EmulatorArgs: []string{"--latency", "20ms"},
		Config:       faultConfig{RPS: 4, Burst: 1, Concurrency: 4, Workers: 8, MaxRetry: 1, RateWait: "300ms"}.String(),
	})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := map[string][]byte{}
	for i := 0; i < n+old; i++ {
		var marker []byte
		if i%2 == 0 {
			marker = emulator.MarkerFlaky
		}
		key := fmt.Sprintf("docs/%04d.png", i)
		if i >= n {
			key = fmt.Sprintf("olddocs/%04d.png", i)
		}
		images[key] = testimages.PNG(int64(2000+i), 12, 12, marker)
		put(t, in, key, images[key])
	}
	startWorkers(t, s, 2, "--log-level", "debug")
	enqueueDocs(t, s, "budget", n)
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: s.Redis.Addr})
	defer client.Close()
	for k := range images {
		if strings.HasPrefix(k, "olddocs/") {
			b, _ := json.Marshal(layout.Recognize{V: layout.PayloadVersion, Source: "s3://inbox/" + k, Type: "receipt", Out: "s3://outbox/r/"})
			p := layout.Recognize{Source: "s3://inbox/" + k, Type: "receipt", Out: "s3://outbox/r/"}
			if _, err := client.Enqueue(asynq.NewTask(layout.TypeRecognize, b), asynq.TaskID(p.TaskID()), asynq.MaxRetry(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitResults(t, out, "r/", n+old, 2*time.Minute)
	results, calls := checkBatch(t, s, out, "r/", images, 2)
	for k, r := range results {
		want := 1
		if bytes.Contains(images[k], emulator.MarkerFlaky) {
			want = 2
		}
		if r.Attempts != want || calls.perDoc[k] != want {
			t.Errorf("%s: attempts %d, vendor calls %d; want %d (a requeue is not an attempt)", k, r.Attempts, calls.perDoc[k], want)
		}
	}
	if calls.calls["document/receipt 0500"] == 0 {
		t.Errorf("no 5xx was answered: the test proves nothing (%s)", calls)
	}
	logs, err := s.Logs()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "no vendor slot") {
		t.Error("no task waited in vain for a rate slot: the limit was not tight enough to prove anything")
	}
	st := producer(t, s, 0, "status", "budget")
	if !strings.Contains(st, fmt.Sprintf("succeeded %d", n)) || !strings.Contains(st, "done") {
		t.Errorf("batch status: %q", st)
	}
}
