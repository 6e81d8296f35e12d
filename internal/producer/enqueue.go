package producer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

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
	// SkippedFailed: of the skipped, those whose current result is a
	// failure (not retried without --force; `producer run` counts them).
	SkippedFailed int64
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
// Its errors are ErrInvalid.
func (e *Enqueuer) Check(t layout.Recognize) error { return invalid(e.check(t, t.Source)) }

// check is Check naming the source as what (a prefix's defaults are
// checked on a key under it, which is no real source).
func (e *Enqueuer) check(t layout.Recognize, what string) error {
	if !result.KnownType(t.Type) {
		return fmt.Errorf("%s: %s", what, UnknownType(t.Type))
	}
	if _, _, err := e.Config.VendorFor(t.Type, t.Vendor); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if t.Type == result.TypeFaceCompare && t.Face == "" {
		return fmt.Errorf("%s: face-compare needs a face image (--face or \"faceImage\")", what)
	}
	if t.Type != result.TypeFaceCompare && t.Face != "" {
		return fmt.Errorf("%s: a face image is only for face-compare", what)
	}
	if err := checkURIs(t); err != nil {
		return err
	}
	t.V = layout.PayloadVersion
	d, err := t.Parse()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return e.checkLocations(d, what)
}

// ErrForbidden marks a source or output outside storage.buckets.
var ErrForbidden = errors.New("outside the allowed buckets")

// checkLocations refuses, before anything is enqueued, what the worker
// would refuse: buckets outside storage.buckets and sources in the
// reserved _ocr/ area.
func (e *Enqueuer) checkLocations(d layout.Doc, what string) error {
	allow := e.Config.Storage.Buckets
	switch {
	case !allow.CanRead(d.Src.Bucket):
		return fmt.Errorf("%s: bucket %q is not in storage.buckets.read: %w", what, d.Src.Bucket, ErrForbidden)
	case !allow.CanWrite(d.Dest.Bucket):
		return fmt.Errorf("--out %s: bucket %q is not in storage.buckets.write: %w", d.Out, d.Dest.Bucket, ErrForbidden)
	case layout.ReservedSource(d.Src.Key):
		return fmt.Errorf("%s: keys under %s are the worker's own objects, not sources", what, layout.Area)
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

var errStopped = errors.New("enqueue stopped")

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
			return sum, invalid(err) // a manifest's content or the file itself: nothing is enqueued yet
		}
	}
	for _, src := range sources {
		if u, err := storage.ParseURI(src); err == nil && u.IsPrefix() {
			// The defaults must be valid for any object under the prefix.
			if err := invalid(e.check(o.task(anyObjectUnder(src)), src)); err != nil {
				return sum, err
			}
			e.warnOverlap(u, o.Out)
		} else if err != nil && src[0] != '@' {
			return sum, invalid(err)
		}
	}

	// The listing runs ahead of the enqueue by up to two chunks (S3 lists
	// 1,000 keys a page): the next page is fetched while this chunk is
	// enqueued. With less overlap they took turns, and a 100,000-object
	// prefix enqueued at half of raw asynq's speed (make bench).
	r := e.newRun(o)
	// Two chunks are enqueued at once, so one's Redis round trips and its
	// slowest enqueue do not leave the other workers idle.
	chunks := make(chan []Item, 2)
	errc := make(chan error, 2)
	var failed atomic.Bool
	for range 2 {
		go func() {
			for c := range chunks {
				if _, err := r.process(ctx, c, nil); err != nil {
					failed.Store(true)
					errc <- err
					for range chunks { // drain: the feeder stops at its next send
					}
					return
				}
			}
			errc <- nil
		}()
	}
	var cur []Item
	var ferr error
	send := func() error {
		if len(cur) == 0 {
			return nil
		}
		if failed.Load() {
			return errStopped // the enqueue failed: its error is in errc
		}
		select {
		case chunks <- cur:
			cur = make([]Item, 0, chunkSize)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	feed := func(it Item) error {
		r.seen.Add(1)
		cur = append(cur, it)
		if len(cur) < chunkSize {
			return nil
		}
		return send()
	}
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
		ferr = e.expandPrefix(ctx, src, u, "", o, func(it Item, _ string) error { return feed(it) })
	}
	if ferr == nil {
		ferr = send()
	}
	close(chunks)
	if errors.Is(ferr, errStopped) {
		ferr = nil
	}
	for range 2 {
		if err := <-errc; err != nil && ferr == nil {
			ferr = err
		}
	}
	sum.Enqueued, sum.Skipped, sum.SkippedFailed = r.enq.Load(), r.skip.Load(), r.sk.failed.Load()
	sum.Calls = r.vendorCalls()
	if ferr != nil {
		return sum, ferr
	}
	if r.counting() {
		done, err := e.Batches.Seal(ctx, o.Batch)
		if err != nil {
			return sum, fmt.Errorf("batch %s: %w", o.Batch, err)
		}
		if done {
			if err := e.writeSummary(ctx, o); err != nil {
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

// expandPrefix lists a source prefix (after the key after, "" for all) and,
// unless forced, merges it with the listing of the matching output prefix
// (both in key order), so the skip check HEADs only results that exist and
// memory does not grow with the number of results. fn gets each item and its
// listed key (a scan's cursor).
func (e *Enqueuer) expandPrefix(ctx context.Context, src string, u storage.URI, after string, o Options, fn func(Item, string) error) error {
	if o.Force {
		return listPrefix(ctx, e.Store, u, after, o.Defaults, fn)
	}
	out, err := layout.OutPrefix(o.Out)
	if err != nil {
		return err
	}
	m := newResultMerge(e.Store.Bucket(out.Bucket), layout.ResultPrefix(out.Key, u.Key))
	if after != "" {
		// Resume the output listing where the source listing resumes. A
		// result key at or before this one is answered "unknown" (HEADed):
		// see resultMerge on why ".json" can reorder keys.
		m.after = layout.ResultKey(out.Key, after)
		m.max = m.after
	}
	srcPrefix := storage.URI{Bucket: u.Bucket}.String()
	return listPrefix(ctx, e.Store, u, after, o.Defaults, func(it Item, key string) error {
		st, err := m.lookup(ctx, layout.ResultKey(out.Key, strings.TrimPrefix(it.Task.Source, srcPrefix)))
		if err != nil {
			return fmt.Errorf("list results under %s: %w", storage.URI{Bucket: out.Bucket, Key: layout.ResultPrefix(out.Key, u.Key)}, err)
		}
		it.Result = st
		return fn(it, key)
	})
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
