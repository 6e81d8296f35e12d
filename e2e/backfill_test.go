package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/backfill"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// A nightly backfill of inbox/backlog/; the cron never fires during the
// test, which enqueues the slots itself (Scheduler.EnqueueSlot is what the
// worker's --scheduler loop calls at each slot).
const backfillConfig = `
schedules:
  - name: nightly
    cron: "0 3 * * *"
    source: s3://inbox/backlog/
    type: receipt
    out: s3://outbox/results/
`

// TestBackfillScanAndLiveTraffic: a scheduled scan runs as a worker task
// and enqueues, into the backfill queue, only the backlog objects without
// a current result; while ~280 of them are queued behind a slow vendor,
// five live documents sent to the critical queue finish before the
// backfill does. A later slot finds nothing left to do.
func TestBackfillScanAndLiveTraffic(t *testing.T) {
	s := newStack(t, stack.Options{Config: stack.DefaultConfig + backfillConfig,
		EmulatorArgs: []string{"--latency", "300ms"}})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")

	const backlog, done = 300, 20
	images := map[string][]byte{}
	current := map[string][]byte{} // result key -> the result already there
	for i := 0; i < backlog; i++ {
		key := fmt.Sprintf("backlog/%03d.png", i)
		img := testimages.PNG(int64(1000+i), 32, 24, nil)
		info, err := in.Put(t.Context(), key, bytes.NewReader(img), int64(len(img)), storage.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		images[key] = img
		if i%(backlog/done) == 0 {
			// Read by an earlier run: a current result (same source ETag).
			body := []byte(`{"schema":"earlier-run"}`)
			rk := "results/" + key + ".json"
			if _, err := out.Put(t.Context(), rk, bytes.NewReader(body), int64(len(body)), storage.PutOptions{
				ContentType: "application/json",
				Metadata:    map[string]string{layout.MetaSourceETag: info.ETag, layout.MetaStatus: result.StatusSucceeded},
			}); err != nil {
				t.Fatal(err)
			}
			current[rk] = body
		}
	}
	live := map[string][]byte{}
	for i := 0; i < 5; i++ {
		key := fmt.Sprintf("live/%d.png", i)
		live[key] = testimages.PNG(int64(9000+i), 32, 24, nil)
		put(t, in, key, live[key])
	}

	worker, err := s.StartWorker("--concurrency", "4", "--queues", "critical=6,default=3,backfill=1", "--scheduler")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(s.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	redisOpt := asynq.RedisClientOpt{Addr: s.Redis.Addr}
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	sched := &backfill.Scheduler{Client: client, Schedules: cfg.Schedules, Log: zerolog.Nop(), MaxRetry: 3}
	slot := time.Date(2025, 1, 1, 3, 0, 0, 0, time.UTC)
	batch := "nightly-20250101T0300"
	for range 2 { // a second replica firing the same slot adds nothing
		if err := sched.EnqueueSlot(t.Context(), cfg.Schedules[0], slot); err != nil {
			t.Fatal(err)
		}
	}

	// The backfill is flowing; now live traffic arrives.
	waitResults(t, out, "results/", done+8, time.Minute)
	o := producer(t, s, 0, "enqueue", "--type", "receipt", "--queue", "critical", "--out", "s3://outbox/live/", "s3://inbox/live/")
	if n, _, _ := enqueuedLine(t, o); n != len(live) {
		t.Fatalf("live enqueue: %q", o)
	}
	waitResults(t, out, "live/", len(live), time.Minute)
	backfilledThen := len(waitResults(t, out, "results/", 0, 0)) - done
	if backfilledThen >= backlog-done {
		t.Errorf("the backfill (%d docs) finished before the live documents", backfilledThen)
	}
	t.Logf("live documents done while %d of %d backfill documents were", backfilledThen, backlog-done)

	waitResults(t, out, "results/", backlog, 2*time.Minute)
	var lastLive, lastBackfill time.Time
	for key, img := range live {
		r := readResult(t, out, "live/"+key+".json")
		if r.Status != result.StatusSucceeded {
			t.Fatalf("%s: %s %+v", key, r.Status, r.Error)
		}
		checkFields(t, key, "receipt", r.Fields, img)
		lastLive = bfLater(t, lastLive, r.CompletedAt)
	}
	for key, img := range images {
		rk := "results/" + key + ".json"
		if body, ok := current[rk]; ok {
			// Skipped by the scan: the earlier run's result is untouched.
			rc, _, err := out.Get(t.Context(), rk)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			_, _ = got.ReadFrom(rc)
			rc.Close()
			if !bytes.Equal(got.Bytes(), body) {
				t.Errorf("%s: a current result was redone: %s", key, got.Bytes())
			}
			continue
		}
		r := readResult(t, out, rk)
		if r.Status != result.StatusSucceeded || r.Batch != batch {
			t.Errorf("%s: status %s batch %q, want succeeded in %s", key, r.Status, r.Batch, batch)
			continue
		}
		checkFields(t, key, "receipt", r.Fields, img)
		lastBackfill = bfLater(t, lastBackfill, r.CompletedAt)
	}
	if !lastLive.Before(lastBackfill) {
		t.Errorf("last live result at %s, last backfill result at %s: live traffic waited for the backfill", lastLive, lastBackfill)
	}

	// The scan and its documents went through the backfill queue, the live
	// ones through critical.
	insp := asynq.NewInspector(redisOpt)
	defer insp.Close()
	if qi, err := insp.GetQueueInfo("backfill"); err != nil || qi.ProcessedTotal < backlog-done+1 {
		t.Errorf("backfill queue: %+v %v, want >= %d processed", qi, err, backlog-done+1)
	}
	if qi, err := insp.GetQueueInfo("critical"); err != nil || qi.ProcessedTotal != len(live) {
		t.Errorf("critical queue: %+v %v, want %d processed", qi, err, len(live))
	}

	// The next night: everything has a current result, the scan enqueues nothing.
	if err := sched.EnqueueSlot(t.Context(), cfg.Schedules[0], slot.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	line := bfWaitLogLine(t, s, "backfill scan done", "nightly-20250102T0300", time.Minute)
	if line["enqueued"] != float64(0) || line["skipped"] != float64(backlog) {
		t.Errorf("second scan: %v, want enqueued 0 skipped %d", line, backlog)
	}
	first := bfWaitLogLine(t, s, "backfill scan done", batch, time.Second)
	if first["enqueued"] != float64(backlog-done) || first["skipped"] != float64(done) {
		t.Errorf("first scan: %v, want enqueued %d skipped %d", first, backlog-done, done)
	}
	if logs, _ := s.Logs(); !strings.Contains(logs, `"scheduler":true`) {
		t.Error("the worker did not start its scheduler")
	}
	worker.Stop()
	if err := worker.Wait(15 * time.Second); err != nil {
		t.Errorf("worker exit after SIGTERM: %v", err)
	}
	assertNoSecrets(t, s)
}

func bfLater(t *testing.T, cur time.Time, completedAt string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, completedAt)
	if err != nil {
		t.Fatalf("completedAt %q: %v", completedAt, err)
	}
	if ts.After(cur) {
		return ts
	}
	return cur
}

// bfWaitLogLine waits for a JSON log line of the stack's processes with
// message msg and batch; it returns its fields.
func bfWaitLogLine(t *testing.T, s *stack.Stack, msg, batch string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		logs, err := s.Logs()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(logs, "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["message"] == msg && m["batch"] == batch {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q for batch %s after %s", msg, batch, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
