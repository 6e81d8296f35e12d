package ratelimit_test

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ratelimit"
)

// A handler waits for its turn (bounded), calls the vendor, and reports the
// outcome so that every worker reacts to throttling and halts.
func ExampleLimiter() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	lim := ratelimit.New(rdb, "clova", 10, 10, 8, ratelimit.WithHaltFor(30*time.Minute))

	callVendor := func(ctx context.Context) error { return nil } // the vendors.Client call

	handle := func(ctx context.Context) error {
		wait, cancel := context.WithTimeout(ctx, 2*time.Minute) // bounded wait; ctx ends on shutdown
		defer cancel()
		release, _, err := lim.Acquire(wait)
		if errors.Is(err, ratelimit.ErrHalted) {
			return err // hand the task back; not a failure
		}
		if err != nil {
			return err // waited too long or Redis failed: retry later, not a failure
		}
		err = callVendor(ctx)
		release()
		_ = lim.Observe(ctx, err) // throttle => slow everyone down; quota/auth => halt the vendor
		return err
	}
	_ = handle
}
