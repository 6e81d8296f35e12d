package pages

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Budget bounds the bytes of decoded pixels that all conversions of a
// worker hold at once (worker.decodeBudget). A conversion waits for its
// weight before decoding and gives it back when its output is written, so
// concurrency adapts to image size: many small images decode in parallel,
// two 12-megapixel photos one after the other under a small budget.
type Budget struct {
	sem  *semaphore.Weighted
	size int64

	// Test hooks: called once a weight is held, and when it is given back.
	acquired, released func(weight int64)
}

// NewBudget is a budget of size bytes; size <= 0 means unbounded.
func NewBudget(size int64) *Budget {
	if size <= 0 {
		return nil
	}
	return &Budget{sem: semaphore.NewWeighted(size), size: size}
}

// Acquire waits until weight bytes are free (or ctx ends) and returns the
// function that frees them. A weight over the whole budget waits for all of
// it: the image then decodes alone rather than never (the pixel limit, not
// the budget, is what refuses an image). A nil Budget never waits.
func (b *Budget) Acquire(ctx context.Context, weight int64) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	weight = min(max(weight, 1), b.size)
	if err := b.sem.Acquire(ctx, weight); err != nil {
		return nil, err
	}
	if weight >= collectAbove {
		collectGarbage()
	}
	if b.acquired != nil {
		b.acquired(weight)
	}
	return func() {
		if b.released != nil {
			b.released(weight)
		}
		b.sem.Release(weight)
	}, nil
}

// collectAbove is the weight from which a conversion first collects the
// pixels of the conversions that finished before it.
const collectAbove = 16 << 20

// lastCollect is when collectGarbage last ran (unix ns), shared by every
// budget of the process: the heap is the process's.
var lastCollect atomic.Int64

// collectGarbage runs the collector before a large decode, at most every
// 100 ms. The budget bounds the pixels held *live*, but Go's collector
// (GOGC=100) lets garbage grow to the live size before it runs: measured
// with eight 12-megapixel rotations, RSS rose 1.73x the live pixels
// (docs/benchmarks.md, photo rows). Decoded pixels hold no pointers, so
// the collection is cheap next to a decode (milliseconds against ~800 ms).
func collectGarbage() {
	now := time.Now().UnixNano()
	last := lastCollect.Load()
	if now-last < int64(100*time.Millisecond) || !lastCollect.CompareAndSwap(last, now) {
		return
	}
	runtime.GC()
}
