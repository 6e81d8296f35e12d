package producer

// Windowed scans: a prefix (or a stored manifest) of any size is enqueued by
// a chain of scan steps run by workers, each keeping at most a window of the
// batch's tasks queued or running. A step lists on from the batch's durable
// cursor, counts each chunk in the batch together with the cursor it
// reached (one atomic Redis call: batch.Register), enqueues the chunk, and
// goes on until the window is full, the listing ends or its time is up; the
// caller then enqueues the next step. A step that is run again (its worker
// died, or it failed and asynq retried it) re-enqueues what it had counted
// and not enqueued, from the batch's in-flight record, so no object is
// skipped and none enqueued twice.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// ScanBooks is what a windowed scan needs of the batch tracker.
type ScanBooks interface {
	batch.Books
	BeginStep(ctx context.Context, id, scan string, step int64) (batch.Step, error)
	InFlight(ctx context.Context, id string) (int64, error)
	StillInFlight(ctx context.Context, id string, sources []string) ([]bool, error)
}

// WindowPoll is how long a step whose window is full waits before the next
// step looks again.
const WindowPoll = time.Second

// StepResult is what one scan step did, and whether a next step must run
// (after Delay).
type StepResult struct {
	Next              bool
	Delay             time.Duration
	Listed            int64
	Enqueued, Skipped int64
	Done              bool // the listing ended and the batch is complete
}

// scanSource lists a scan's items after a cursor, each with its own cursor.
type scanSource interface {
	list(ctx context.Context, after string, fn func(Item, string) error) error
	// past reports whether cursor c lies beyond end.
	past(c, end string) bool
}

// ScanOptions are the enqueue options of a scan payload.
func ScanOptions(s layout.Scan) Options {
	return Options{Defaults: Defaults{Type: s.Type, Vendor: s.Vendor, Out: s.Out, Batch: s.Batch, Face: s.Face,
		Verify: s.Verify, Force: s.Force, PII: s.PII}, Queue: s.Queue}
}

// CheckScan validates a scan's source and defaults before it is queued.
func (e *Enqueuer) CheckScan(s layout.Scan) error {
	_, err := e.scanSource(s, ScanOptions(s))
	return err
}

func (e *Enqueuer) scanSource(s layout.Scan, o Options) (scanSource, error) {
	if m, ok := strings.CutPrefix(s.Source, "@"); ok {
		u, err := storage.ParseURI(m)
		if err != nil || u.IsPrefix() {
			return nil, fmt.Errorf("--scan @%s: want a stored manifest @s3://bucket/key", m)
		}
		return &manifestSource{e: e, u: u, d: o.Defaults}, nil
	}
	u, err := storage.ParseURI(s.Source)
	if err != nil {
		return nil, err
	}
	if !u.IsPrefix() {
		return nil, fmt.Errorf("--scan %s: want a prefix (ending in /) or a stored manifest (@s3://bucket/key)", s.Source)
	}
	if err := invalid(e.check(o.task(anyObjectUnder(s.Source)), s.Source)); err != nil {
		return nil, err
	}
	return &prefixSource{e: e, src: s.Source, u: u, o: o}, nil
}

type prefixSource struct {
	e   *Enqueuer
	src string
	u   storage.URI
	o   Options
}

func (p *prefixSource) list(ctx context.Context, after string, fn func(Item, string) error) error {
	return p.e.expandPrefix(ctx, p.src, p.u, after, p.o, fn)
}

func (p *prefixSource) past(c, end string) bool { return c > end }

// ScanStep runs step s.Step of the windowed scan s, keeping at most window
// of its batch's tasks in flight, for about budget.
func (e *Enqueuer) ScanStep(ctx context.Context, s layout.Scan, window int, budget time.Duration) (res StepResult, err error) {
	books, ok := e.Batches.(ScanBooks)
	if !ok || s.Batch == "" {
		return res, errors.New("a windowed scan needs a batch and the batch tracker")
	}
	o := ScanOptions(s)
	src, err := e.scanSource(s, o)
	if err != nil {
		return res, err
	}
	var st batch.Step
	st, err = books.BeginStep(ctx, s.Batch, s.ID(), s.Step)
	if err != nil || st.State == batch.StepStale || st.State == batch.StepDone || st.State == batch.StepCancelled {
		return res, err
	}
	r := e.newRun(o)
	defer func() { res.Enqueued, res.Skipped = r.enq.Load(), r.skip.Load() }()
	if st.State == batch.StepResume && st.Cursor != st.From {
		if err := r.redo(ctx, books, src, st.From, st.Cursor); err != nil {
			return res, err
		}
	}

	// The listing runs ahead by up to two chunks while a chunk is enqueued.
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	type listed struct {
		it  Item
		cur string
	}
	ch := make(chan listed, 2*chunkSize)
	lerr := make(chan error, 1)
	go func() {
		defer close(ch)
		lerr <- src.list(lctx, st.Cursor, func(it Item, c string) error {
			select {
			case ch <- listed{it, c}:
				return nil
			case <-lctx.Done():
				return lctx.Err()
			}
		})
	}()
	deadline := time.Now().Add(budget)
	cursor := st.Cursor
	for {
		n, err := books.InFlight(ctx, s.Batch)
		if err != nil {
			return res, err
		}
		free := int64(window) - n
		if free <= 0 {
			res.Next, res.Delay = true, WindowPoll
			return res, nil
		}
		want := min(free, chunkSize)
		items := make([]Item, 0, want)
		end := false
		for int64(len(items)) < want && !end {
			l, ok := <-ch
			if !ok {
				end = true
				break
			}
			items = append(items, l.it)
			cursor = l.cur
		}
		if end {
			if err := <-lerr; err != nil {
				return res, err // nothing of this chunk counted: the retry lists it again
			}
		}
		r.seen.Add(int64(len(items)))
		done, err := r.process(ctx, items, &batch.ScanMark{Scan: s.ID(), Cursor: cursor, Listed: int64(len(items)), End: end})
		if errors.Is(err, batch.ErrCancelled) {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.Listed += int64(len(items))
		if end {
			res.Done = done
			return res, nil
		}
		if time.Now().After(deadline) {
			res.Next = true
			return res, nil
		}
	}
}

var errPast = errors.New("past the range")

// redo re-enqueues the tasks this step counted in (from, end] that are
// still in flight: a task enqueued before is refused as a duplicate, one
// that was counted and never enqueued (the worker died in between) is
// enqueued now, one that already finished is left alone.
func (r *run) redo(ctx context.Context, books ScanBooks, src scanSource, from, end string) error {
	var items []Item
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		srcs := make([]string, len(items))
		for i, it := range items {
			srcs[i] = it.Task.Source
		}
		in, err := books.StillInFlight(ctx, r.o.Batch, srcs)
		if err != nil {
			return err
		}
		var todo []Item
		for i, it := range items {
			if in[i] {
				todo = append(todo, it)
			}
		}
		items = items[:0]
		return r.parallel(len(todo), func(i int) error {
			t, err := layout.NewRecognizeTask(todo[i].Task, r.e.taskOptions(r.o)...)
			if err != nil {
				return err
			}
			queued, err := r.enqueue(ctx, t, todo[i].Task.TaskID())
			if queued {
				r.enq.Add(1)
				r.call(todo[i].Task)
			}
			return err
		})
	}
	err := src.list(ctx, from, func(it Item, c string) error {
		if src.past(c, end) {
			return errPast
		}
		items = append(items, it)
		if len(items) < chunkSize {
			return nil
		}
		return flush()
	})
	if err != nil && !errors.Is(err, errPast) {
		return err
	}
	return flush()
}

// manifestSource reads a JSONL manifest stored in the object store; its
// cursor is the byte offset after the last line read.
type manifestSource struct {
	e *Enqueuer
	u storage.URI
	d Defaults
}

// rangeGetter is a bucket that can read an object from an offset; others
// are read from the start and the first bytes dropped.
type rangeGetter interface {
	GetFrom(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
}

func (m *manifestSource) past(c, end string) bool {
	a, _ := strconv.ParseInt(c, 10, 64)
	b, _ := strconv.ParseInt(end, 10, 64)
	return a > b
}

func (m *manifestSource) list(ctx context.Context, after string, fn func(Item, string) error) error {
	var off int64
	if after != "" {
		var err error
		if off, err = strconv.ParseInt(after, 10, 64); err != nil || off < 0 {
			return fmt.Errorf("manifest cursor %q is no byte offset", after)
		}
	}
	b := m.e.Store.Bucket(m.u.Bucket)
	var rc io.ReadCloser
	var err error
	if rg, ok := b.(rangeGetter); ok {
		rc, err = rg.GetFrom(ctx, m.u.Key, off)
	} else {
		rc, _, err = b.Get(ctx, m.u.Key)
		if err == nil {
			if _, err = io.CopyN(io.Discard, rc, off); err == io.EOF {
				err = nil
			}
		}
	}
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		return fmt.Errorf("manifest %s: %w", storage.URI{Bucket: m.u.Bucket}, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	name := storage.URI{Bucket: m.u.Bucket}.String() + "…" // keys may hold names: errors give the bucket only
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("manifest %s: a line at byte %d is longer than 64 KiB", name, off)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("manifest %s: %w", name, err)
		}
		if len(line) == 0 {
			return nil
		}
		off += int64(len(line))
		it, ok, perr := parseManifestLine(string(line), m.d)
		if perr != nil {
			// No task can carry a line that does not parse: it is logged
			// by its byte offset and the scan goes on.
			m.e.Log.Warn().Str("manifest", name).Int64("offset", off-int64(len(line))).Err(perr).Msg("manifest line skipped")
		} else if ok {
			if err := fn(it, strconv.FormatInt(off, 10)); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}
