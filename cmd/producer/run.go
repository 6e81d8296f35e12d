package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/cli"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/localredis"
	"github.com/ocrbatch/ocrworker/internal/setup"
)

const runUsage = `usage: producer run --type TYPE [--vendor NAME] --out s3://BUCKET/PREFIX/|file:///DIR/ [--batch ID]
                    [--force] [--dry-run] [--verify] [--face URI] [--concurrency N] SOURCE...

Enqueues the sources like 'producer enqueue', processes them in this
process, waits, and prints the batch's summary. Exit status 0 when every
document succeeded, 1 otherwise. The in-process worker serves only this
run's own queue (run-BATCH), so it never takes other tasks. Without a
redis.url (nor REDIS_URL) it starts a private redis-server for the run.`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		g           cli.Globals
		fs          = flag.NewFlagSet("run", flag.ContinueOnError)
		f           = registerEnqueueFlags(fs)
		concurrency int
	)
	fs.IntVar(&concurrency, "concurrency", 0, "tasks in flight in this process (default: worker.concurrency)")
	sources, err := parse(fs, &g, args, stdout, runUsage, 1, -1)
	if err != nil {
		return err
	}
	o, err := f.options(sources, runUsage)
	if err != nil {
		return err
	}
	if flagSet(fs, "queue") {
		return cli.Usagef("--queue: producer run uses a queue of its own (run-BATCH); use producer enqueue for another queue")
	}
	if concurrency < 0 {
		return cli.Usagef("--concurrency must be > 0")
	}
	// The in-process worker logs like a worker; for a person waiting on a
	// run, only warnings unless asked otherwise.
	if !flagSet(fs, "log-level") && os.Getenv("LOG_LEVEL") == "" {
		g.LogLevel = "warn"
	}
	e, stop, err := loadRun(ctx, g, stderr)
	if err != nil {
		return err
	}
	defer stop()
	if err := e.cfg.ValidateSecrets(); err != nil {
		return err
	}
	if concurrency > 0 {
		e.cfg.Worker.Concurrency = concurrency
	}
	store, err := setup.Store(ctx, e.cfg)
	if err != nil {
		return err
	}
	o.Queue = "run-" + o.Batch
	if !o.DryRun {
		w, err := setup.NewWorker(e.cfg, e.rdb, store, e.log, map[string]int{o.Queue: 1})
		if err != nil {
			return err
		}
		if err := w.Server.Start(w.Mux); err != nil {
			return err
		}
		defer func() {
			w.Server.Shutdown()
			// Left in Redis, tasks of an interrupted run would hold their
			// task IDs in a queue no one serves, and a later run would
			// take them for queued already.
			_ = asynq.NewInspectorFromRedisClient(e.rdb).DeleteQueue(o.Queue, true)
		}()
	}
	enq, done := newEnqueuer(e, store, o.Queue, stderr)
	sum, err := enq.Run(ctx, sources, o)
	done()
	if err != nil {
		return enqueueError(err)
	}
	fmt.Fprintln(stdout, summaryLine(sum, o))
	if o.DryRun {
		return nil
	}
	st, err := waitBatch(ctx, e.tracker(), o.Batch, stderr)
	if err != nil {
		return err
	}
	err = reportRun(ctx, e.tracker(), st, sum.SkippedFailed, stdout)
	if len(e.cfg.Notify) > 0 {
		drainWebhooks(ctx, asynq.NewInspectorFromRedisClient(e.rdb), o.Queue, webhookWait, stderr)
	}
	return err
}

// webhookWait is how long a finished run waits for its webhook deliveries
// (document.failed is coalesced to the end of its minute).
const webhookWait = 75 * time.Second

// drainWebhooks waits, at most maxWait, until the run's queue holds no
// task: once the batch is done, what is left there are the webhook
// deliveries its worker queued (batch.completed, document.failed), which
// the queue's deletion at the end of the run would drop.
func drainWebhooks(ctx context.Context, insp *asynq.Inspector, queue string, maxWait time.Duration, stderr io.Writer) {
	deadline := time.Now().Add(maxWait)
	told := false
	for {
		info, err := insp.GetQueueInfo(queue)
		if err != nil {
			return // no queue: nothing queued on it
		}
		left := info.Pending + info.Active + info.Scheduled + info.Retry
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "%d webhook deliveries not sent within %s: dropped\n", left, maxWait)
			return
		}
		if !told {
			fmt.Fprintf(stderr, "waiting for %d webhook deliveries\n", left)
			told = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// loadRun loads the configuration; without a redis.url it starts a
// private redis-server and points the run at it. stop stops it.
func loadRun(ctx context.Context, g cli.Globals, stderr io.Writer) (*env, func(), error) {
	nothing := func() {}
	e, err := load(g, stderr)
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "redis.url" {
		return e, nothing, err
	}
	srv, err := localredis.Start(ctx)
	if err != nil {
		return nil, nothing, fmt.Errorf("no redis.url configured, and a private redis-server did not start: %w", err)
	}
	if err := os.Setenv("REDIS_URL", srv.URL); err != nil { // the configuration's default for redis.url
		srv.Stop()
		return nil, nothing, err
	}
	e, err = load(g, stderr)
	if err != nil {
		srv.Stop()
		return nil, nothing, err
	}
	e.log.Info().Msg("no redis.url configured: using a private redis-server for this run")
	return e, func() { _ = e.rdb.Close(); srv.Stop() }, nil
}

// waitBatch waits until every source of the batch has an outcome: with a
// progress bar on a terminal, else with a line whenever the count moves
// (at most every two seconds).
func waitBatch(ctx context.Context, t *batch.Tracker, id string, stderr io.Writer) (batch.Status, error) {
	if isTerminal(stderr) {
		return t.Follow(ctx, stderr, id, 500*time.Millisecond)
	}
	var last int64 = -1
	var printed time.Time
	for {
		st, err := t.Get(ctx, id)
		if err != nil {
			return st, err
		}
		if st.Done {
			return st, nil
		}
		if st.Counted() != last && time.Since(printed) >= 2*time.Second {
			last, printed = st.Counted(), time.Now()
			_ = batch.Print(stderr, st)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// reportRun prints the batch line and each failure, and fails (exit 1) unless
// every document succeeded, counting skipped sources whose current result
// is a failure.
func reportRun(ctx context.Context, t *batch.Tracker, st batch.Status, skippedFailed int64, stdout io.Writer) error {
	if err := batch.Print(stdout, st); err != nil {
		return err
	}
	failures, err := t.Failures(ctx, st.ID)
	if err != nil {
		return err
	}
	for _, f := range failures {
		fmt.Fprintf(stdout, "failed %s %s\n", f.Code, f.Source)
	}
	switch failed := st.Failed + skippedFailed; {
	case failed == 0:
		return nil
	case skippedFailed > 0:
		return fmt.Errorf("%d of %d documents failed (%d skipped with a failed result: --force retries them)",
			failed, st.Total, skippedFailed)
	default:
		return fmt.Errorf("%d of %d documents failed", failed, st.Total)
	}
}

// flagSet reports whether a flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
