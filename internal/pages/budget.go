package pages

import (
	"context"

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
