package ratelimit

import (
	"context"
	"testing"
	"time"
)

// TestRetryAfterIsCapped: a vendor Retry-After of a year (or one that
// overflowed while parsing) used to stall every worker for that long. The
// shared wait is capped (worker.maxRetryAfter, default 5m), also when an
// older worker stored a longer one.
func TestRetryAfterIsCapped(t *testing.T) {
	ctx := context.Background()
	opt := prefix(t)
	a := New(newClient(t), "clova", 100, 10, 0, opt)
	a.Throttled(ctx, 365*24*time.Hour)
	st, err := a.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.RetryAfter <= 0 || st.RetryAfter > DefaultMaxRetryAfter {
		t.Errorf("shared wait %v after a year-long Retry-After, want at most %v", st.RetryAfter, DefaultMaxRetryAfter)
	}
	// A stricter cap applies to what is already stored, too.
	b := New(newClient(t), "clova", 100, 10, 0, opt, WithMaxRetryAfter(2*time.Second))
	if st, err := b.State(ctx); err != nil || st.RetryAfter > 2*time.Second {
		t.Errorf("State with a 2s cap: %v, %v", st.RetryAfter, err)
	}
	b.Throttled(ctx, time.Duration(1<<62))
	if st, err := b.State(ctx); err != nil || st.RetryAfter <= 0 || st.RetryAfter > 2*time.Second {
		t.Errorf("State after an overflowing Retry-After: %v, %v", st.RetryAfter, err)
	}
}

// TestResumeClearsTheSharedWait: `producer resume` lifts a halt and the
// vendor's Retry-After wait alike.
func TestResumeClearsTheSharedWait(t *testing.T) {
	ctx := context.Background()
	opt := prefix(t)
	l := New(newClient(t), "clova", 100, 10, 0, opt)
	l.Throttled(ctx, time.Minute)
	if st, _ := l.State(ctx); st.RetryAfter < 50*time.Second {
		t.Fatalf("wait %v before resume", st.RetryAfter)
	}
	if _, err := NewGate(newClient(t), opt).Resume(ctx, "clova"); err != nil {
		t.Fatal(err)
	}
	if st, err := l.State(ctx); err != nil || st.RetryAfter != 0 {
		t.Errorf("wait after resume: %v, %v; want none", st.RetryAfter, err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	release, _, err := l.Acquire(short)
	if err != nil {
		t.Fatalf("Acquire after resume: %v", err)
	}
	release()
}
