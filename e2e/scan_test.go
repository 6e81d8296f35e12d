package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestWindowedScan: `producer enqueue --scan` of a prefix larger than the
// window (worker.scanWindow: 5) returns at once; the workers list it never
// holding more than the window of its tasks queued or running, and every
// object ends with its result, once, in a correct batch. `producer cancel`
// stops a second scan midway: its queued tasks go, the batch ends with
// what had run.
func TestWindowedScan(t *testing.T) {
	cfg := strings.Replace(stack.DefaultConfig, "\nworker:\n", "\nworker:\n  scanWindow: 5\n", 1)
	s := newStack(t, stack.Options{Config: cfg, EmulatorArgs: []string{"--latency", "150ms"}})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	const n, m = 23, 60
	for i := range n {
		put(t, in, fmt.Sprintf("scan/%03d.png", i), testimages.PNG(int64(5000+i), 32, 24, nil))
	}
	for i := range m {
		put(t, in, fmt.Sprintf("cancel/%03d.png", i), testimages.PNG(int64(6000+i), 32, 24, nil))
	}
	if _, err := s.StartWorker("--concurrency", "3"); err != nil {
		t.Fatal(err)
	}
	o := producer(t, s, 0, "enqueue", "--scan", "--type", "receipt", "--out", "s3://outbox/r/", "--batch", "scan-1", "s3://inbox/scan/")
	if strings.TrimSpace(o) != "enqueued 0 skipped 0 batch scan-1" {
		t.Fatalf("enqueue --scan printed %q", o)
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.Redis.Addr})
	defer insp.Close()
	most := 0
	deadline := time.Now().Add(2 * time.Minute)
	for len(waitResults(t, out, "r/scan/", 0, 0)) < n {
		if time.Now().After(deadline) {
			t.Fatal("the scan did not finish")
		}
		if qi, err := insp.GetQueueInfo("default"); err == nil {
			// Besides the window's recognize tasks, the scan's own step.
			most = max(most, qi.Pending+qi.Active+qi.Retry-1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if most > 5 {
		t.Errorf("up to %d tasks queued or running, window 5", most)
	}
	for i := range n {
		r := readResult(t, out, fmt.Sprintf("r/scan/%03d.png.json", i))
		if r.Status != result.StatusSucceeded || r.Batch != "scan-1" {
			t.Errorf("%03d: %s in %q", i, r.Status, r.Batch)
		}
	}
	var st string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if st = producer(t, s, 0, "status", "scan-1"); strings.Contains(st, "done in") {
			break
		}
	}
	want := fmt.Sprintf("batch scan-1: %d/%d (100.0%%) succeeded %d failed 0 skipped 0 pending 0", n, n, n)
	if !strings.HasPrefix(st, want) || !strings.Contains(st, fmt.Sprintf("scan listed %d, in flight 0", n)) {
		t.Errorf("status %q, want %q… and the scan's progress", st, want)
	}
	if _, err := out.Head(t.Context(), "r/_ocr/batches/scan-1.json"); err != nil {
		t.Errorf("summary: %v", err)
	}
	if qi, _ := insp.GetQueueInfo("default"); qi.Processed != n+(n+4)/5+1 && qi.Processed < n {
		t.Logf("processed %d tasks", qi.Processed)
	}

	// Cancel midway.
	producer(t, s, 0, "enqueue", "--scan", "--type", "receipt", "--out", "s3://outbox/c/", "--batch", "scan-2", "s3://inbox/cancel/")
	waitResults(t, out, "r/c/cancel/", 0, 0)
	waitResults(t, out, "c/cancel/", 6, time.Minute)
	co := producer(t, s, 0, "cancel", "scan-2")
	if !strings.HasPrefix(co, "cancelled batch scan-2: ") {
		t.Fatalf("cancel printed %q", co)
	}
	time.Sleep(3 * time.Second) // the running ones finish; nothing else starts
	got := len(waitResults(t, out, "c/cancel/", 0, 0))
	time.Sleep(2 * time.Second)
	if again := len(waitResults(t, out, "c/cancel/", 0, 0)); again != got || got >= m {
		t.Fatalf("%d then %d of %d results after the cancel: it did not stop", got, again, m)
	}
	st = producer(t, s, 0, "status", "scan-2")
	if !strings.Contains(st, "cancelled, done in") || !strings.Contains(st, fmt.Sprintf("succeeded %d failed 0", got)) {
		t.Errorf("status after cancel %q, want cancelled and done with %d succeeded", st, got)
	}
	t.Logf("cancel: %s; %d of %d documents had run", strings.TrimSpace(co), got, m)
}
