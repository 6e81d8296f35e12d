// Package clock holds the one context-aware sleep the project uses, so
// code that waits (the rate limiter, the batch summary's retries) stops
// waiting the moment its context ends.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx ends, whichever comes first; it returns
// ctx's error when the context ended the wait.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
