package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A full burst would drain the vendor's own bucket, and then a call that
// reaches the vendor a little early (network, scheduling) is throttled: the
// limiter keeps one token of the burst in reserve, never less than one call.
func TestBurstKeepsOneTokenInReserve(t *testing.T) {
	for _, c := range []struct{ burst, atOnce int }{{1, 1}, {2, 1}, {5, 4}} {
		l := New(newClient(t), "clova", 0.5, c.burst, 0, prefix(t)) // next token in 2s
		got := 0
		for range c.burst + 1 {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			release, _, err := l.Acquire(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			release()
			got++
		}
		if got != c.atOnce {
			t.Errorf("burst %d: %d calls at once, want %d", c.burst, got, c.atOnce)
		}
	}
}
