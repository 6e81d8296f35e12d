package adapt

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// Workers share one estimate through Redis: what one learns (a throttle
// blamed on calls in flight), a new worker starts at; concurrent updates
// from several workers are all applied.
func TestRedisStoreSharesTheFleetEstimate(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	newRDB := func() redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { c.Close() })
		return c
	}
	ctrl := New(Config{})
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }

	a := NewFleet(ctrl, NewRedisStore(newRDB(), "test:", "clova"), clock, time.Millisecond)
	// Six calls succeed at up to 6 in flight, then one sent at 7 is throttled.
	for n := 1; n <= 6; n++ {
		if err := a.Observe(ctx, Event{Sent: t0, Done: t0.Add(100 * time.Millisecond), InFlight: n}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	now = t0.Add(time.Second)
	mu.Unlock()
	if err := a.Observe(ctx, Event{Sent: now, Done: now, InFlight: 7, Throttled: true}); err != nil {
		t.Fatal(err)
	}

	b := NewFleet(ctrl, NewRedisStore(newRDB(), "test:", "clova"), clock, time.Millisecond)
	_, w, err := b.Limits(ctx)
	if err != nil || w != 6 {
		t.Fatalf("new worker starts at %d in flight (%v), want the fleet's learned 6", w, err)
	}
	if st := b.State(); st.Mode != ModeInFlight || st.Throttles != 1 || st.Successes != 6 {
		t.Fatalf("shared state %+v", st)
	}

	// Ten workers updating at once lose no event (optimistic transactions).
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := NewFleet(ctrl, NewRedisStore(newRDB(), "test:", "clova"), clock, time.Hour)
			for j := 0; j < 5; j++ {
				_ = f.Observe(ctx, Event{Sent: t0, Done: t0, InFlight: 1})
			}
			if err := f.Sync(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, ok, err := NewRedisStore(newRDB(), "test:", "clova").Load(ctx)
	if err != nil || !ok || st.Successes != 56 {
		t.Fatalf("after 10 workers x 5 successes: %d successes (ok %v, %v), want 56", st.Successes, ok, err)
	}
	ttl := newRDB().TTL(ctx, LearnedKey("test:", "clova")).Val()
	if ttl <= 0 || ttl > LearnedTTL {
		t.Fatalf("learned key TTL %v", ttl)
	}
}

// The controller blames a throttle at a level that keeps succeeding on a
// rate limit, and one above every recent success on calls in flight.
func TestControllerTellsTheKindOfLimit(t *testing.T) {
	k := New(Config{})
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := k.Start(t0)
	s.SlowStart, s.RPS, s.InFlight = false, 20, 10
	for i := 0; i < 40; i++ {
		at := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		k.Observe(&s, Event{Sent: at, Done: at.Add(10 * time.Millisecond), InFlight: 1 + i%4}, at.Add(10*time.Millisecond))
	}
	at := t0.Add(2 * time.Second)
	k.Observe(&s, Event{Sent: at, Done: at, InFlight: 2, Throttled: true}, at)
	if s.Mode != ModeRate || s.RPS >= 20 || s.InFlight != 10 {
		t.Fatalf("throttle at a succeeding level: mode %q rps %.1f inflight %d; want rate, < 20, 10", s.Mode, s.RPS, s.InFlight)
	}
	at = at.Add(time.Second)
	k.Observe(&s, Event{Sent: at, Done: at, InFlight: 5, Throttled: true}, at)
	if s.Mode != ModeInFlight || s.InFlight != 4 {
		t.Fatalf("throttle above every success: mode %q inflight %d; want inflight, 4", s.Mode, s.InFlight)
	}
}
