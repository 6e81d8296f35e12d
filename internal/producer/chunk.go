package producer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
)

// chunkSize is how many items are counted in the batch in one Redis round
// trip: about one listing page. Counting each task on its own cost round
// trips per task on top of the enqueue, which made a 100,000-object prefix
// enqueue at a third of raw asynq's speed (make bench).
const chunkSize = 1000

// run is one enqueue's state: its counts, and what it recorded for export.
type run struct {
	e  *Enqueuer
	o  Options
	sk *skipper

	enq, skip, seen atomic.Int64
	outputs         sync.Map // for producer export (outputs.go): pairs recorded

	mu    sync.Mutex
	calls map[string]int64 // vendor calls of the enqueued tasks (Summary.Calls)
}

// call counts the vendor call of one task enqueued (or, in a dry run, one
// that would be) under its vendor's name (Check made sure it has one).
func (r *run) call(task layout.Recognize) {
	name, _, err := r.e.Config.VendorFor(task.Type, task.Vendor)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int64{}
	}
	r.calls[name]++
}

// vendorCalls is a copy of the calls counted so far.
func (r *run) vendorCalls() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		return nil
	}
	m := make(map[string]int64, len(r.calls))
	for k, v := range r.calls {
		m[k] = v
	}
	return m
}

func (e *Enqueuer) newRun(o Options) *run { return &run{e: e, o: o, sk: newSkipper(e.Store)} }

func (e *Enqueuer) workers() int {
	if e.Workers > 0 {
		return e.Workers
	}
	return 8
}

// counting reports whether this run counts in a batch.
func (r *run) counting() bool { return r.e.Batches != nil && !r.o.DryRun && r.o.Batch != "" }

// parallel calls fn(i) for i in [0,n) on the enqueuer's workers and
// returns the first error.
func (r *run) parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(r.e.workers(), n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // stop handing out work
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// process enqueues one chunk: it checks which items already have a current
// result (in parallel), counts the chunk in the batch before any task of it
// is enqueued (with the scan's position, mark, atomically), enqueues the
// rest (in parallel), and takes back from the batch the tasks asynq refused
// as already queued. done: the chunk completed the batch (a scan's last
// chunk, every source skipped), and the summary was written.
func (r *run) process(ctx context.Context, items []Item, mark *batch.ScanMark) (done bool, err error) {
	current := make([]bool, len(items))
	err = r.parallel(len(items), func(i int) error {
		it := items[i]
		if err := r.output(ctx, it.Task); err != nil { // for producer export (outputs.go)
			return err
		}
		if it.Task.Force {
			return nil
		}
		c, err := r.sk.current(ctx, it)
		current[i] = c
		return err
	})
	if err != nil {
		return false, err
	}
	var todo []*asynq.Task
	var recs []layout.Recognize // todo's payloads (for the vendor call counts)
	var regs []batch.Task
	var skipped []string
	for i, it := range items {
		if current[i] {
			skipped = append(skipped, it.Task.Source)
			continue
		}
		t, err := layout.NewRecognizeTask(it.Task, r.e.taskOptions(r.o)...)
		if err != nil {
			return false, err
		}
		todo = append(todo, t)
		recs = append(recs, it.Task)
		regs = append(regs, batch.Task{Source: it.Task.Source, Queue: r.queue(), ID: it.Task.TaskID()})
	}
	fresh := make([]bool, len(todo))
	if r.counting() {
		if err := r.recordSkipped(ctx, skipped); err != nil {
			return false, err
		}
		fresh, done, err = r.e.Batches.Register(ctx, r.o.Batch, batch.Chunk{Tasks: regs, Skipped: int64(len(skipped)), Scan: mark})
		if err != nil {
			return false, err
		}
	}
	r.skip.Add(int64(len(skipped)))
	if r.o.DryRun {
		r.enq.Add(int64(len(todo)))
		for _, rec := range recs {
			r.call(rec)
		}
		r.progress()
		return false, nil
	}
	refused := make([]bool, len(todo))
	err = r.parallel(len(todo), func(i int) error {
		queued, err := r.enqueue(ctx, todo[i], regs[i].ID)
		if err != nil {
			return err
		}
		if queued {
			r.enq.Add(1)
			r.call(recs[i])
		} else {
			// The same source, type and output is already queued: one task.
			// It is counted by the batch that enqueued it (a re-run of a
			// crashed producer counts it once), so not here.
			refused[i] = fresh[i]
			r.skip.Add(1)
		}
		r.progress()
		return nil
	})
	// Whatever happened, the batch keeps counting only what was enqueued:
	// what asynq refused leaves it.
	var back []string
	for i, no := range refused {
		if no {
			back = append(back, regs[i].Source)
		}
	}
	if r.counting() && len(back) > 0 {
		d, uerr := r.e.Batches.Unregister(ctx, r.o.Batch, back)
		done = done || d
		if uerr != nil && err == nil {
			err = uerr
		}
	}
	if err == nil && done {
		err = r.e.writeSummary(ctx, r.o)
	}
	return done, err
}

func (r *run) queue() string {
	if r.o.Queue == "" {
		return "default"
	}
	return r.o.Queue
}

func (r *run) progress() {
	if r.e.Progress != nil {
		r.e.Progress(r.enq.Load()+r.skip.Load(), r.seen.Load())
	}
}

// taskOptions are the asynq options of every recognize task. The worker
// counts the retry budget (worker.maxRetry) itself; asynq's MaxRetry is
// only a safety net (layout.RetryCeiling).
func (e *Enqueuer) taskOptions(o Options) []asynq.Option {
	opts := []asynq.Option{asynq.MaxRetry(layout.RetryCeiling), asynq.Timeout(e.Config.Worker.TaskTimeout.D())}
	if o.Queue != "" {
		opts = append(opts, asynq.Queue(o.Queue))
	}
	return opts
}

// enqueue enqueues one task; queued is false when asynq already holds a
// task of that ID (an archived one is replaced: revive).
func (r *run) enqueue(ctx context.Context, t *asynq.Task, id string) (queued bool, err error) {
	_, err = r.e.Client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) && r.e.revive(r.o.Queue, id) {
		_, err = r.e.Client.EnqueueContext(ctx, t)
	}
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("enqueue: %w", err)
	}
	return true, nil
}

// writeSummary writes the summary of a batch that an enqueue completed
// (every source already had its outcome: no worker will learn that the
// batch is done).
func (e *Enqueuer) writeSummary(ctx context.Context, o Options) error {
	if o.Out == "" {
		return nil
	}
	out, err := layout.OutPrefix(o.Out)
	if err != nil {
		return err
	}
	return e.Batches.WriteSummary(ctx, e.Store.Bucket(out.Bucket), out.Key, o.Batch)
}
