package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/cli"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/setup"
)

// enqueueScan queues the first step of a windowed scan of source and
// returns: the workers list it (worker.scanWindow tasks at a time) and
// count its documents in the batch as they go.
func enqueueScan(ctx context.Context, e *env, enq *producer.Enqueuer, source string, o producer.Options, stdout io.Writer) error {
	s := layout.Scan{Source: source, Type: o.Type, Vendor: o.Vendor, Out: o.Out, Queue: o.Queue, Batch: o.Batch,
		Force: o.Force, Verify: o.Verify, PII: o.PII, Face: o.Face}
	if err := enq.CheckScan(s); err != nil {
		return cli.Usagef("%v", err)
	}
	// The batch exists from now on, so `producer status` finds it before the
	// first step has run.
	if _, _, err := e.tracker().Register(ctx, o.Batch, batch.Chunk{}); err != nil {
		return err
	}
	task, err := layout.NewScanStepTask(s, asynq.Queue(o.Queue), asynq.MaxRetry(max(e.cfg.Worker.MaxRetry, 1)),
		asynq.Timeout(5*time.Minute))
	if err != nil {
		return err
	}
	if _, err := enq.Client.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue the scan: %w", err)
	}
	fmt.Fprintln(stdout, producer.Summary{Batch: o.Batch}.String())
	return nil
}

const cancelUsage = "usage: producer cancel BATCH"

// runCancel stops a batch's scans and deletes its queued tasks; the tasks
// running now finish and count.
func runCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var g cli.Globals
	fs := flag.NewFlagSet("cancel", flag.ContinueOnError)
	pos, err := parse(fs, &g, args, stdout, cancelUsage, 1, 1)
	if err != nil {
		return err
	}
	id := pos[0]
	if err := layout.CheckBatchID(id); err != nil {
		return cli.Usagef("%v", err)
	}
	e, err := load(g, stderr)
	if err != nil {
		return err
	}
	insp := asynq.NewInspectorFromRedisClient(e.rdb)
	del := func(_ context.Context, queue, taskID string) bool { return insp.DeleteTask(queue, taskID) == nil }
	tr := e.tracker()
	dropped, done, err := tr.Cancel(ctx, id, del, func() { time.Sleep(time.Second) })
	if err != nil {
		return err
	}
	if done {
		// Nothing was running: no worker will write the summary.
		if err := writeCancelledSummary(ctx, e, tr, id); err != nil {
			return err
		}
	}
	st, err := tr.Get(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cancelled batch %s: %d queued tasks dropped, %d running\n", id, dropped, st.InFlight)
	return nil
}

// writeCancelledSummary writes the summary of a batch the cancel completed
// to its first recorded output.
func writeCancelledSummary(ctx context.Context, e *env, tr *batch.Tracker, id string) error {
	outs, err := tr.Outputs(ctx, id)
	if err != nil || len(outs) == 0 {
		return err
	}
	out, err := layout.OutPrefix(outs[0].Out)
	if err != nil {
		return err
	}
	store, err := setup.Store(ctx, e.cfg)
	if err != nil {
		return err
	}
	return tr.WriteSummary(ctx, store.Bucket(out.Bucket), out.Key, id)
}

// storedManifest reports whether a --scan manifest names an object in the
// store (s3:// or file://), which the workers can read; a bare path is a
// file of this machine only.
func storedManifest(m string) bool {
	return strings.HasPrefix(m, "s3://") || strings.HasPrefix(m, "file://")
}
