package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// hammer runs workers goroutines spread over the limiters, each acquiring and
// releasing at once until d has passed, and returns the grant times sorted.
func hammer(t *testing.T, limiters []*Limiter, workers int, d time.Duration) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu     sync.Mutex
		grants []time.Time
		wg     sync.WaitGroup
	)
	for i := range workers {
		l := limiters[i%len(limiters)]
		wg.Go(func() {
			for {
				release, _, err := l.Acquire(ctx)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("Acquire: %v", err)
					}
					return
				}
				now := time.Now()
				release()
				mu.Lock()
				grants = append(grants, now)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Slice(grants, func(i, j int) bool { return grants[i].Before(grants[j]) })
	return grants
}

// maxInWindow is the largest number of grants inside any window of length w.
func maxInWindow(grants []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range grants {
		for grants[i].Sub(grants[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestSharedRateAcrossProcesses(t *testing.T) {
	const rps, burst = 20, 5
	opt := prefix(t)
	var limiters []*Limiter
	for range 3 { // three processes, each with its own Redis client
		limiters = append(limiters, New(newClient(t), "clova", rps, burst, 4, opt))
	}
	run := 1500 * time.Millisecond
	grants := hammer(t, limiters, 12, run)

	// GCRA: at most burst + rps*w calls in any window w. One extra for the
	// gap between Redis granting a call and the test recording it.
	for _, w := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second} {
		limit := burst + int(rps*w.Seconds()) + 1
		if got := maxInWindow(grants, w); got > limit {
			t.Errorf("%d calls within %v across 3 processes, limit %d", got, w, limit)
		}
	}
	total, ceiling := len(grants), burst+int(rps*run.Seconds())+1
	if total > ceiling {
		t.Errorf("%d calls in %v, limit %d", total, run, ceiling)
	}
	// And the limit is used, not starved: most of the allowed calls happen.
	if floor := int(0.8 * rps * run.Seconds()); total < floor {
		t.Errorf("only %d calls in %v, want at least %d", total, run, floor)
	}
}

func TestFractionalRPS(t *testing.T) {
	t.Run("2.5 rps is one call per 400ms", func(t *testing.T) {
		opt := prefix(t)
		a := New(newClient(t), "clova", 2.5, 1, 0, opt)
		b := New(newClient(t), "clova", 2.5, 1, 0, opt)
		grants := hammer(t, []*Limiter{a, b}, 4, 1750*time.Millisecond)
		if len(grants) < 4 || len(grants) > 5 {
			t.Fatalf("%d calls in 1.75s at 2.5 rps burst 1, want 4 or 5", len(grants))
		}
		// 2 rps would be 500ms apart and 3 rps 333ms: 400ms tells them apart.
		mean := grants[len(grants)-1].Sub(grants[0]) / time.Duration(len(grants)-1)
		if mean < 380*time.Millisecond || mean > 440*time.Millisecond {
			t.Errorf("mean interval %v, want about 400ms", mean)
		}
	})
	t.Run("0.5 rps allows no second call within a second", func(t *testing.T) {
		opt := prefix(t)
		a := New(newClient(t), "clova", 0.5, 1, 0, opt)
		b := New(newClient(t), "clova", 0.5, 1, 0, opt)
		release, _, err := a.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		release()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, _, err := b.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second call at 0.5 rps within 1s: err = %v, want deadline exceeded", err)
		}
	})
}

func TestEmissionInterval(t *testing.T) {
	for rps, want := range map[float64]time.Duration{
		0.5: 2 * time.Second, 2.5: 400 * time.Millisecond, 10: 100 * time.Millisecond, 1000: time.Millisecond,
	} {
		if got := emissionInterval(rps); got != want {
			t.Errorf("emissionInterval(%v) = %v, want %v", rps, got, want)
		}
	}
}

func TestConcurrencyCap(t *testing.T) {
	l := New(newClient(t), "nhn", 10000, 10000, 2, prefix(t))
	var inFlight, peak atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			release, _, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(20 * time.Millisecond)
			inFlight.Add(-1)
			release()
			release() // a second release must not free a second slot
		})
	}
	wg.Wait()
	if got := peak.Load(); got != 2 {
		t.Fatalf("peak in-flight calls %d, want exactly the cap 2", got)
	}

	// With both slots held, a third caller gives up when its ctx ends.
	r1, _, _ := l.Acquire(context.Background())
	r2, _, _ := l.Acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with all slots held: %v, want deadline exceeded", err)
	}
	r1()
	r2()
}

func TestThrottledLowersRateEverywhereAndRecovers(t *testing.T) {
	fast := WithAdaptive(Adaptive{RecoverPerSecond: 2, Cooldown: time.Second}) // 0.5 -> 1 in 250ms
	opt := prefix(t)
	a := New(newClient(t), "clova", 100, 10, 0, opt, fast)
	b := New(newClient(t), "clova", 100, 10, 0, opt, fast)
	ctx := context.Background()

	a.Throttled(ctx, 0)
	a.Throttled(ctx, 0) // same overload, within the cooldown
	st, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Factor < 0.45 || st.Factor > 0.6 {
		t.Fatalf("factor seen by another process %v, want about 0.5 (one decrease per cooldown)", st.Factor)
	}
	if st.EffectiveRPS > 60 || st.Burst != 5 {
		t.Fatalf("effective %v rps burst %d, want about 50 rps burst 5", st.EffectiveRPS, st.Burst)
	}
	// Recovery runs on Redis's clock, which a test cannot move: move the
	// decrease 300ms into the past instead.
	rdb, key := newClient(t), adaptKey(a.o.prefix, "clova")
	ts, err := rdb.HGet(ctx, key, "ts").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, key, "ts", ts-300).Err(); err != nil {
		t.Fatal(err)
	}
	if st, _ = b.State(ctx); st.Factor != 1 || st.EffectiveRPS != 100 || st.Burst != 10 {
		t.Fatalf("after recovery: %+v, want the full rate back", st)
	}
}

func TestThrottledSlowsAnotherProcessCalls(t *testing.T) {
	const rps, burst = 20, 2
	opt := prefix(t)
	a := New(newClient(t), "clova", rps, burst, 0, opt) // default recovery: 0.02/s
	b := New(newClient(t), "clova", rps, burst, 0, opt)
	a.Throttled(context.Background(), 0)
	run := time.Second
	grants := hammer(t, []*Limiter{b}, 4, run)
	// Halved: 10 rps (slightly more as it recovers), burst 1; unthrottled would be 22.
	if n := len(grants); n > 1+int(10.5*run.Seconds())+1 || n < 7 {
		t.Fatalf("%d calls in %v after a throttle at %d rps, want about 11", n, run, rps)
	}
}

func TestRetryAfterBlocksEveryProcess(t *testing.T) {
	opt := prefix(t)
	a := New(newClient(t), "clova", 100, 10, 0, opt)
	b := New(newClient(t), "clova", 100, 10, 0, opt)
	c := New(newClient(t), "clova", 100, 10, 0, opt)
	const retryAfter = 400 * time.Millisecond
	throttledAt := time.Now()
	a.Throttled(context.Background(), retryAfter)
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := c.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire during Retry-After: %v, want deadline exceeded", err)
	}
	// The rest of the wait is measured from the throttle, not assumed: a
	// loaded machine may take a while to get here.
	rest := retryAfter - time.Since(throttledAt)
	release, waited, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
	if rest > 0 && waited < rest-20*time.Millisecond { // Redis's clock counts in ms
		t.Fatalf("waited %v, want the rest (%v) of the %v Retry-After", waited, rest, retryAfter)
	}
	if since := time.Since(throttledAt); since < retryAfter-20*time.Millisecond {
		t.Fatalf("a call was admitted %v after a %v Retry-After", since, retryAfter)
	}
}

func TestHaltStopsEveryProcessUntilResumed(t *testing.T) {
	var logs bytes.Buffer
	opts := []Option{prefix(t), WithHaltPoll(10*time.Millisecond, 40*time.Millisecond),
		WithLogger(zerolog.New(zerolog.SyncWriter(&logs)))}
	gate := NewGate(newClient(t), opts...)
	var limiters []*Limiter
	for range 3 {
		limiters = append(limiters, New(newClient(t), "nhn", 100, 10, 0, opts...))
	}
	ctx := context.Background()
	if err := gate.Halt(ctx, "nhn", ocrerr.QuotaExhausted, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	st, halted, err := gate.Halted(ctx, "nhn")
	if err != nil || !halted || st.Reason != ocrerr.QuotaExhausted || st.Until.IsZero() {
		t.Fatalf("Halted = %+v, %v, %v", st, halted, err)
	}

	// A bounded wait during the halt ends with ErrHalted and the reason.
	short, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
	defer cancel()
	_, _, err = limiters[1].Acquire(short)
	var he *HaltedError
	if !errors.Is(err, ErrHalted) || !errors.As(err, &he) || he.State.Reason != ocrerr.QuotaExhausted {
		t.Fatalf("Acquire while halted: %v, want ErrHalted for quota_exhausted", err)
	}

	var granted atomic.Int32
	var wg sync.WaitGroup
	for _, l := range limiters {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			release, _, err := l.Acquire(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			release()
			granted.Add(1)
		})
	}
	// Every process has met the halt and waits on it; none was granted.
	deadline := time.Now().Add(5 * time.Second)
	for _, l := range limiters {
		for !l.sawHalt.Load() {
			if time.Now().After(deadline) {
				t.Fatal("a process never met the halt")
			}
			time.Sleep(time.Millisecond)
		}
	}
	if n := granted.Load(); n != 0 {
		t.Fatalf("%d calls granted while halted", n)
	}
	if was, err := gate.Resume(ctx, "nhn"); err != nil || !was {
		t.Fatalf("Resume = %v, %v", was, err)
	}
	wg.Wait()
	if n := granted.Load(); n != 3 {
		t.Fatalf("%d of 3 processes resumed", n)
	}
	for _, want := range []string{`"message":"vendor halted: no worker calls it until it is resumed"`,
		`"reason":"quota_exhausted"`, `"message":"vendor resumed"`, `"message":"vendor calls resumed"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

// A halt with an end lifts by itself at that time: for this process's
// clock at once, and for Redis, which expires the halt key then.
func TestHaltResumesByItself(t *testing.T) {
	clock := newFakeClock()
	opts := []Option{prefix(t), WithHaltPoll(10*time.Millisecond, 20*time.Millisecond), WithClock(clock.Now)}
	rdb := newClient(t)
	l := New(rdb, "ekyc", 100, 10, 0, opts...)
	gate := NewGate(rdb, opts...)
	ctx := context.Background()
	until := clock.Now().Add(time.Hour)
	if err := gate.Halt(ctx, "ekyc", ocrerr.VendorAuth, until); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, err := l.Acquire(short); !errors.Is(err, ErrHalted) {
		t.Fatalf("Acquire before the halt's end: %v, want ErrHalted", err)
	}
	if at := rdb.PExpireTime(ctx, haltKey(l.o.prefix, "ekyc")).Val(); at != time.Duration(until.UnixMilli())*time.Millisecond {
		t.Errorf("Redis expires the halt at %v, want at its end %v", at, until.UnixMilli())
	}

	clock.Advance(time.Hour)
	bounded, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	release, _, err := l.Acquire(bounded)
	if err != nil {
		t.Fatalf("Acquire at the halt's end: %v", err)
	}
	release()
	if _, halted, _ := gate.Halted(ctx, "ekyc"); halted {
		t.Fatal("still halted at its auto-resume time")
	}
}

// The limiter is the worker's gate (tasks.Gate): Throttled slows every
// process down and makes it wait; Halt halts the vendor for every process
// with its reason, and this process sees it at once.
func TestLimiterIsTheWorkersGate(t *testing.T) {
	opt := prefix(t)
	l := New(newClient(t), "clova", 10, 10, 0, opt)
	other := NewGate(newClient(t), opt)
	ctx := context.Background()

	l.Throttled(ctx, 2*time.Second)
	st, _ := l.State(ctx)
	if st.Factor > 0.6 || st.RetryAfter < time.Second || st.Halt != nil {
		t.Fatalf("after a throttle: %+v, want factor 0.5 and ~2s Retry-After", st)
	}

	until := time.Now().Add(time.Hour)
	if err := l.Halt(ctx, string(ocrerr.QuotaExhausted), until); err != nil {
		t.Fatal(err)
	}
	if got, halted := l.Halted(ctx); !halted || !got.Equal(until) {
		t.Errorf("Halted = %v, %v right after this process halted it", got, halted)
	}
	h, halted, err := other.Halted(ctx, "clova")
	if err != nil || !halted || h.Reason != ocrerr.QuotaExhausted || h.Until.UnixMilli() != until.UnixMilli() {
		t.Fatalf("another process sees %+v %v %v, want halted an hour for quota_exhausted", h, halted, err)
	}
}

// A halt set by another process is seen within haltCacheFor without a
// Redis read per task; a halt this process sets is seen at once.
func TestHaltedIsCachedBriefly(t *testing.T) {
	clock := newFakeClock()
	opts := []Option{prefix(t), WithClock(clock.Now)}
	l := New(newClient(t), "v", 0, 1, 0, opts...)
	other := NewGate(newClient(t), opts...)
	ctx := context.Background()
	if _, halted := l.Halted(ctx); halted {
		t.Fatal("halted before any halt")
	}
	if err := other.Halt(ctx, "v", ocrerr.QuotaExhausted, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(haltCacheFor - time.Millisecond)
	if _, halted := l.Halted(ctx); halted {
		t.Error("the cached answer was not used")
	}
	clock.Advance(time.Millisecond)
	if _, halted := l.Halted(ctx); !halted {
		t.Error("another process's halt not seen once the cache expired")
	}
	if _, err := other.Resume(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	if err := l.Halt(ctx, string(ocrerr.VendorAuth), clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if until, halted := l.Halted(ctx); !halted || until.IsZero() {
		t.Error("this process's own halt not seen at once")
	}
}

func TestAcquireReturnsPromptlyOnCancel(t *testing.T) {
	cases := map[string]func(t *testing.T, l *Limiter){
		"waiting for a token": func(t *testing.T, l *Limiter) {
			r, _, err := l.Acquire(context.Background()) // burst used: next token in 10s
			if err != nil {
				t.Fatal(err)
			}
			r()
		},
		"halted": func(t *testing.T, l *Limiter) {
			if err := l.Halt(context.Background(), string(ocrerr.VendorAuth), time.Time{}); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			l := New(newClient(t), "clova", 0.1, 1, 1, prefix(t), WithHaltPoll(time.Second, 5*time.Second))
			setup(t, l)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			_, _, err := l.Acquire(ctx)
			if !errors.Is(err, context.Canceled) && !errors.Is(err, ErrHalted) {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); d > 300*time.Millisecond {
				t.Fatalf("returned %v after the cancel, want promptly", d-50*time.Millisecond)
			}
			// The concurrency slot was given back.
			select {
			case l.slots <- struct{}{}:
			default:
				t.Fatal("a cancelled Acquire kept its concurrency slot")
			}
		})
	}
}

func TestRecoveredFactor(t *testing.T) {
	for _, c := range []struct {
		f        float64
		last     int64
		now      int64
		perSec   float64
		expected float64
	}{
		{0, 0, 1000, 0.1, 1},         // never throttled
		{0.5, 1000, 1000, 0.1, 0.5},  // just decreased
		{0.5, 1000, 3000, 0.1, 0.7},  // two seconds later
		{0.5, 1000, 99000, 0.1, 1},   // capped at full rate
		{0.25, 5000, 4000, 0.1, .25}, // a clock step back never lowers it further
	} {
		got := recoveredFactor(c.f, c.last, c.now, c.perSec)
		if d := got - c.expected; d > 1e-9 || d < -1e-9 {
			t.Errorf("recoveredFactor(%v, %d, %d, %v) = %v, want %v", c.f, c.last, c.now, c.perSec, got, c.expected)
		}
	}
}

func BenchmarkAcquire(b *testing.B) {
	l := New(newClient(b), "bench", 1e9, 1e6, 0, prefix(b))
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			release, _, err := l.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
}
