package producer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Enqueuer enqueues recognize tasks.
type Enqueuer struct {
	Client  *asynq.Client
	Store   storage.Store
	Config  *config.Config
	Batches batch.Books // optional
	// Inspector, when set, lets an enqueue replace an archived task of the
	// same ID (one that gave up) instead of being refused by it.
	Inspector *asynq.Inspector
	Log       zerolog.Logger
	Workers   int                     // parallel enqueuers; default 8
	Progress  func(done, total int64) // optional, called as items finish
}

// Options are the enqueue command's flags besides the sources.
type Options struct {
	Defaults
	Queue  string
	DryRun bool
}

// Summary is the outcome: `enqueued N skipped M batch ID`.
type Summary struct {
	Enqueued, Skipped int64
	Batch             string
	// Calls: the vendor calls the enqueued tasks will cost at least, by
	// vendor name: one per task (a multi-page source or NHN's authenticity
	// check costs more; retries and throttles too). With --dry-run, what
	// they would cost.
	Calls map[string]int64
}

func (s Summary) String() string {
	return fmt.Sprintf("enqueued %d skipped %d batch %s", s.Enqueued, s.Skipped, s.Batch)
}

// Check validates one task against the configuration, naming what is wrong.
func (e *Enqueuer) Check(t layout.Recognize) error {
	if !result.KnownType(t.Type) {
		return fmt.Errorf("%s: unknown document type %q (want one of %v)", t.Source, t.Type, result.DocumentTypes)
	}
	if _, _, err := e.Config.VendorFor(t.Type, t.Vendor); err != nil {
		return fmt.Errorf("%s: %w", t.Source, err)
	}
	if t.Type == result.TypeFaceCompare && t.Face == "" {
		return fmt.Errorf("%s: face-compare needs a face image (--face or \"faceImage\")", t.Source)
	}
	if t.Type != result.TypeFaceCompare && t.Face != "" {
		return fmt.Errorf("%s: a face image is only for face-compare", t.Source)
	}
	t.V = layout.PayloadVersion
	d, err := t.Parse()
	if err != nil {
		return err
	}
	return e.checkLocations(d)
}

// ErrForbidden marks a source or output outside storage.buckets.
var ErrForbidden = errors.New("outside the allowed buckets")

// checkLocations refuses, before anything is enqueued, what the worker
// would refuse: buckets outside storage.buckets and sources in the
// reserved _ocr/ area.
func (e *Enqueuer) checkLocations(d layout.Doc) error {
	allow := e.Config.Storage.Buckets
	switch {
	case !allow.CanRead(d.Src.Bucket):
		return fmt.Errorf("%s: bucket %q is not in storage.buckets.read: %w", d.Source, d.Src.Bucket, ErrForbidden)
	case !allow.CanWrite(d.Dest.Bucket):
		return fmt.Errorf("--out %s: bucket %q is not in storage.buckets.write: %w", d.Out, d.Dest.Bucket, ErrForbidden)
	case layout.ReservedSource(d.Src.Key):
		return fmt.Errorf("%s: keys under %s are the worker's own objects, not sources", d.Source, layout.Area)
	}
	if d.FaceSrc.Bucket != "" && !allow.CanRead(d.FaceSrc.Bucket) {
		return fmt.Errorf("%s: bucket %q is not in storage.buckets.read: %w", d.Face, d.FaceSrc.Bucket, ErrForbidden)
	}
	return nil
}

// anyObjectUnder stands for every object a listing of prefix may yield:
// the defaults of an enqueue must be valid for each, checked before the
// listing starts.
func anyObjectUnder(prefix string) string { return prefix + "x" }

// Run expands, checks and enqueues every source. Manifests and single
// objects are validated whole before the first task is enqueued; prefixes
// are streamed.
func (e *Enqueuer) Run(ctx context.Context, sources []string, o Options) (Summary, error) {
	sum := Summary{Batch: o.Batch}
	// Pass 1: validate everything that is not a listing.
	var fixed []Item
	for _, src := range sources {
		if u, err := storage.ParseURI(src); err == nil && u.IsPrefix() {
			continue
		}
		err := Expand(ctx, e.Store, src, o.Defaults, func(it Item) error {
			if err := e.Check(it.Task); err != nil {
				return err
			}
			fixed = append(fixed, it)
			return nil
		})
		if err != nil {
			return sum, err
		}
	}
	for _, src := range sources {
		if u, err := storage.ParseURI(src); err == nil && u.IsPrefix() {
			// The defaults must be valid for any object under the prefix.
			if err := e.Check(o.task(anyObjectUnder(src))); err != nil {
				return sum, err
			}
			e.warnOverlap(u, o.Out)
		} else if err != nil && src[0] != '@' {
			return sum, err
		}
	}

	var enq, skip, seen atomic.Int64
	// Room for two listing pages (S3 lists 1,000 keys a page): the listing
	// fetches its next page while the enqueuers drain the last one. With a
	// smaller buffer they took turns, and a 100,000-object prefix enqueued
	// at half of raw asynq's speed (make bench).
	items := make(chan Item, 2048)
	errc := make(chan error, 1)
	workers := e.Workers
	if workers <= 0 {
		workers = 8
	}
	var wg sync.WaitGroup
	sk := newSkipper(e.Store)
	counts := &tally{e: e, o: o}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				queued, err := e.one(ctx, sk, counts, it, o)
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					continue
				}
				if queued {
					enq.Add(1)
				} else {
					skip.Add(1)
				}
				if e.Progress != nil {
					e.Progress(enq.Load()+skip.Load(), seen.Load())
				}
			}
		}()
	}
	feed := func(it Item) error {
		seen.Add(1)
		select {
		case items <- it:
			return nil
		case err := <-errc:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var ferr error
	for _, it := range fixed {
		if ferr = feed(it); ferr != nil {
			break
		}
	}
	for _, src := range sources {
		if ferr != nil {
			break
		}
		u, err := storage.ParseURI(src)
		if err != nil || !u.IsPrefix() {
			continue
		}
		ferr = e.expandPrefix(ctx, src, u, o, feed)
	}
	close(items)
	wg.Wait()
	// Whatever happened, the batch counts what was really enqueued.
	if err := counts.flush(ctx); err != nil && ferr == nil {
		ferr = err
	}
	if ferr == nil {
		select {
		case ferr = <-errc:
		default:
		}
	}
	sum.Enqueued, sum.Skipped = enq.Load(), skip.Load()
	sum.Calls = counts.calls
	if ferr != nil {
		return sum, ferr
	}
	if e.Batches != nil && !o.DryRun && o.Batch != "" {
		done, err := e.Batches.Seal(ctx, o.Batch)
		if err != nil {
			return sum, fmt.Errorf("batch %s: %w", o.Batch, err)
		}
		if done && o.Out != "" {
			// Every source already had its outcome: no worker will learn
			// that the batch is done, so the summary is written here.
			out, err := layout.OutPrefix(o.Out)
			if err != nil {
				return sum, err
			}
			if err := e.Batches.WriteSummary(ctx, e.Store.Bucket(out.Bucket), out.Key, o.Batch); err != nil {
				return sum, err
			}
		}
	}
	return sum, nil
}

// Scan enqueues every object of a scan payload's prefix without a current
// result, exactly as `producer enqueue s3://b/prefix/` would (a scheduled
// backfill, run by a worker: internal/backfill).
func (e *Enqueuer) Scan(ctx context.Context, s layout.Scan) (Summary, error) {
	o := Options{Defaults: Defaults{Type: s.Type, Vendor: s.Vendor, Out: s.Out, Batch: s.Batch}, Queue: s.Queue}
	return e.Run(ctx, []string{s.Source}, o)
}

// expandPrefix lists a source prefix and, unless forced, merges it with
// the listing of the matching output prefix (both in key order), so the
// skip check HEADs only results that exist and memory does not grow with
// the number of results.
func (e *Enqueuer) expandPrefix(ctx context.Context, src string, u storage.URI, o Options, feed func(Item) error) error {
	if o.Force {
		return Expand(ctx, e.Store, src, o.Defaults, feed)
	}
	out, err := layout.OutPrefix(o.Out)
	if err != nil {
		return err
	}
	m := newResultMerge(e.Store.Bucket(out.Bucket), layout.ResultPrefix(out.Key, u.Key))
	srcPrefix := "s3://" + u.Bucket + "/"
	return Expand(ctx, e.Store, src, o.Defaults, func(it Item) error {
		st, err := m.lookup(ctx, layout.ResultKey(out.Key, strings.TrimPrefix(it.Task.Source, srcPrefix)))
		if err != nil {
			return fmt.Errorf("list results under s3://%s/%s: %w", out.Bucket, layout.ResultPrefix(out.Key, u.Key), err)
		}
		it.Result = st
		return feed(it)
	})
}

// one enqueues one item unless its result is current; it reports whether
// a task was enqueued.
func (e *Enqueuer) one(ctx context.Context, sk *skipper, counts *tally, it Item, o Options) (bool, error) {
	if err := counts.output(ctx, it.Task); err != nil { // for producer export (outputs.go)
		return false, err
	}
	if !it.Task.Force {
		current, err := sk.current(ctx, it)
		if err != nil {
			return false, err
		}
		if current {
			counts.skippedSource(it.Task.Source)
			return false, counts.add(ctx, 0, 1)
		}
	}
	if o.DryRun {
		counts.call(e.Config, it.Task)
		return true, nil
	}
	task, err := layout.NewRecognizeTask(it.Task)
	if err != nil {
		return false, err
	}
	// The worker counts the retry budget (worker.maxRetry) itself; asynq's
	// MaxRetry is only a safety net (layout.RetryCeiling).
	opts := []asynq.Option{asynq.MaxRetry(layout.RetryCeiling), asynq.Timeout(e.Config.Worker.TaskTimeout.D())}
	if o.Queue != "" {
		opts = append(opts, asynq.Queue(o.Queue))
	}
	_, err = e.Client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) && e.revive(o.Queue, it.Task.TaskID()) {
		_, err = e.Client.EnqueueContext(ctx, task, opts...)
	}
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		// The same source, type and output is already queued: one task. It
		// is counted by the batch that enqueued it (a re-run of a crashed
		// producer counts it once), so not here.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue: %w", err)
	}
	// Counted after the fact: a batch is only done once sealed, and the
	// producer seals it after the last count, so no worker can finish it early.
	counts.call(e.Config, it.Task)
	return true, counts.add(ctx, 1, 0)
}

// tally adds up a run's batch counts and writes them to Redis in chunks.
// Counting each task on its own cost two Redis round trips per task on top
// of the enqueue, which made a 100,000-object prefix enqueue at a third of
// raw asynq's speed (make bench). Counting late is safe for the same
// reason as above: Run flushes before it seals. The interval keeps
// `producer status` live during a long enqueue.
type tally struct {
	e *Enqueuer
	o Options

	mu             sync.Mutex
	total, skipped int64
	last           time.Time

	// For producer export (outputs.go): pairs recorded, sources skipped since the last flush.
	outputs        sync.Map
	skippedSources []string

	calls map[string]int64 // vendor calls of the enqueued tasks (Summary.Calls)
}

// call counts the vendor call of one enqueued task (Check made sure it has
// a vendor).
func (t *tally) call(c *config.Config, task layout.Recognize) {
	name, _, err := c.VendorFor(task.Type, task.Vendor)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls == nil {
		t.calls = map[string]int64{}
	}
	t.calls[name]++
}

const (
	tallyEvery    = 1000
	tallyInterval = 250 * time.Millisecond
)

func (t *tally) add(ctx context.Context, total, skipped int64) error {
	t.mu.Lock()
	t.total += total
	t.skipped += skipped
	if t.total+t.skipped < tallyEvery && time.Since(t.last) < tallyInterval {
		t.mu.Unlock()
		return nil
	}
	return t.flushLocked(ctx)
}

func (t *tally) flush(ctx context.Context) error {
	t.mu.Lock()
	return t.flushLocked(ctx)
}

// flushLocked takes the pending counts and writes them after unlocking.
func (t *tally) flushLocked(ctx context.Context) error {
	total, skipped := t.total, t.skipped
	t.total, t.skipped, t.last = 0, 0, time.Now()
	sources := t.skippedSources
	t.skippedSources = nil
	t.mu.Unlock()
	if total == 0 && skipped == 0 {
		return nil
	}
	if err := t.recordSkipped(ctx, sources); err != nil {
		return err
	}
	return t.e.count(ctx, t.o, total, skipped)
}

func (e *Enqueuer) count(ctx context.Context, o Options, total, skipped int64) error {
	if e.Batches == nil || o.DryRun || o.Batch == "" {
		return nil
	}
	if total != 0 {
		if err := e.Batches.AddTotal(ctx, o.Batch, total); err != nil {
			return err
		}
	}
	if skipped != 0 {
		return e.Batches.AddSkipped(ctx, o.Batch, skipped)
	}
	return nil
}

// revive deletes an archived task that holds this task ID, so that an
// explicit enqueue runs the source again instead of being refused by a task
// that gave up (storage down past its retries). It reports whether it did.
func (e *Enqueuer) revive(queue, id string) bool {
	if e.Inspector == nil {
		return false
	}
	if queue == "" {
		queue = "default"
	}
	info, err := e.Inspector.GetTaskInfo(queue, id)
	if err != nil || info.State != asynq.TaskStateArchived {
		return false
	}
	return e.Inspector.DeleteTask(queue, id) == nil
}

// warnOverlap warns, once per enqueue of a source prefix, when the output
// lies inside it (or the other way round): the listing then skips what
// would be output (see layout.OutputSkip) instead of reading results and
// summaries as new sources.
func (e *Enqueuer) warnOverlap(src storage.URI, outURI string) {
	out, err := layout.OutPrefix(outURI)
	if err != nil {
		return
	}
	if _, overlap := layout.OutputSkip(src.Key, out.Key, src.Bucket == out.Bucket); overlap {
		e.Log.Warn().Str("bucket", src.Bucket).
			Msg("the output prefix overlaps the source prefix: keys that are output there (under the output prefix, or *.json beside the sources) are skipped, not enqueued")
	}
}
