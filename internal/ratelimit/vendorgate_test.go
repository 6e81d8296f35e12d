package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ocrbatch/ocrworker/internal/adapt"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

func dayBudget(calls int64) *BudgetSpec {
	return &BudgetSpec{Calls: calls, Per: "day", Location: time.UTC}
}

// Several processes racing for a budget of 5 make exactly 5 calls: the
// call is counted before it is made, and the others are told the budget is
// used up until the next period, with a halt.
func TestVendorGateBudgetNeverOverspends(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	var granted, refused atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		g := NewVendorGate(newClient(t), "clova", GateConfig{Concurrency: 8, Budget: dayBudget(5)}, p)
		for i := 0; i < 4; i++ {
			wg.Go(func() {
				done, _, err := g.Acquire(ctx)
				if err != nil {
					e, ok := ocrerr.As(err)
					if !ok || e.Code != ocrerr.BudgetExhausted || !e.Halt || e.RetryAfter <= 0 || e.RetryAfter > 24*time.Hour {
						t.Errorf("refusal = %#v, want a budget_exhausted halt until the next day", err)
					}
					refused.Add(1)
					return
				}
				granted.Add(1)
				time.Sleep(20 * time.Millisecond)
				done(nil)
			})
		}
	}
	wg.Wait()
	if granted.Load() != 5 || refused.Load() != 7 {
		t.Fatalf("granted %d refused %d, want 5 and 7", granted.Load(), refused.Load())
	}
	g := NewVendorGate(newClient(t), "clova", GateConfig{Budget: dayBudget(5)}, p)
	st, err := g.Budget().Status(ctx)
	if err != nil || st.Used != 5 || !st.UsedUp() {
		t.Fatalf("status %+v (%v), want 5 used", st, err)
	}
}

// A throttled call and a call that got no answer are refunded; an answered
// failure (the vendor billed it) is not.
func TestVendorGateBudgetRefundsWhatTheVendorDidNotBill(t *testing.T) {
	ctx := context.Background()
	g := NewVendorGate(newClient(t), "clova", GateConfig{Budget: dayBudget(10)}, prefix(t))
	for _, callErr := range []error{
		ocrerr.Throttled("0025", 400, 0),
		&ocrerr.Error{Code: ocrerr.VendorUnavailable, Retryable: true}, // timeout: no HTTP status
		&ocrerr.Error{Code: ocrerr.QuotaExhausted, HTTPStatus: 400, Halt: true},
		&ocrerr.Error{Code: ocrerr.RecognitionFailed, HTTPStatus: 200},
		nil,
	} {
		done, _, err := g.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done(callErr)
	}
	if st, _ := g.Budget().Status(ctx); st.Used != 2 {
		t.Fatalf("used %d, want 2 (the failed recognition and the success)", st.Used)
	}
}

// `producer resume` after a budget halt lets the vendor go on past its
// budget for the rest of the period; an unrelated halt's resume does not.
func TestVendorGateResumeLiftsTheBudget(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	g := NewVendorGate(newClient(t), "clova", GateConfig{Budget: dayBudget(1)}, p)
	done, _, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done(nil)
	_, _, err = g.Acquire(ctx)
	e, ok := ocrerr.As(err)
	if !ok || e.Code != ocrerr.BudgetExhausted {
		t.Fatalf("second call: %v, want budget_exhausted", err)
	}
	if err := g.Halt(ctx, string(e.Code), time.Now().Add(e.RetryAfter)); err != nil {
		t.Fatal(err)
	}
	was, err := NewGate(newClient(t), p).Resume(ctx, "clova")
	if err != nil || !was {
		t.Fatalf("resume: %v %v", was, err)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		done, _, err := g.Acquire(short)
		if err != nil {
			t.Fatalf("after resume, call %d: %v", i, err)
		}
		done(nil)
	}
	if st, _ := g.Budget().Status(ctx); st.Used != 4 {
		t.Fatalf("used %d, want 4: the calls past the budget are still counted", st.Used)
	}

	// Another vendor halted by an operator: resume lifts no budget.
	h := NewVendorGate(newClient(t), "nhn", GateConfig{Budget: dayBudget(1)}, p)
	done, _, _ = h.Acquire(ctx)
	done(nil)
	_ = h.Halt(ctx, "operator", time.Now().Add(time.Hour))
	if _, err := NewGate(newClient(t), p).Resume(ctx, "nhn"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Acquire(ctx); !IsBudgetExhausted(err) {
		t.Fatalf("after an operator halt's resume: %v, want budget_exhausted", err)
	}
}

// rateLimit.concurrent with exact limits caps the fleet's calls in flight.
func TestVendorGateExactConcurrent(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	var cur, peak atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		g := NewVendorGate(newClient(t), "clova", GateConfig{Concurrency: 8, Concurrent: 3}, p)
		for i := 0; i < 6; i++ {
			wg.Go(func() {
				for k := 0; k < 5; k++ {
					done, _, err := g.Acquire(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					n := cur.Add(1)
					for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
					}
					time.Sleep(5 * time.Millisecond)
					cur.Add(-1)
					done(nil)
				}
			})
		}
	}
	wg.Wait()
	if peak.Load() != 3 {
		t.Fatalf("peak in flight %d, want the limit 3", peak.Load())
	}
}

// An adaptive gate feeds each call's outcome to the fleet's learned state
// in Redis (another process sees it) and to the metrics; errors that are
// not throttles teach nothing.
func TestVendorGateAdaptiveLearns(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	g := NewVendorGate(newClient(t), "clova", GateConfig{Concurrency: 4, Adaptive: true, Budget: dayBudget(1000)}, p, WithMetrics(m))
	if !g.Adaptive() {
		t.Fatal("not adaptive")
	}
	for i := 0; i < 30; i++ {
		done, _, err := g.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		done(nil)
	}
	done, _, _ := g.Acquire(ctx)
	done(&ocrerr.Error{Code: ocrerr.RecognitionFailed, HTTPStatus: 200})
	done, _, _ = g.Acquire(ctx)
	done(ocrerr.Throttled("0025", 400, 0)) // a throttle is shared at once
	st, ok, err := Learned(ctx, newClient(t), "clova", p)
	if err != nil || !ok {
		t.Fatalf("learned: %v %v", ok, err)
	}
	if st.Throttles != 1 || st.Successes < 1 || st.Successes > 30 {
		t.Errorf("learned state: %d successes, %d throttles; want <= 30 and 1", st.Successes, st.Throttles)
	}
	if st.RPS <= 2 {
		t.Errorf("learned rate %.2f: 30 rate-bound successes in slow start should have raised it above the start", st.RPS)
	}
	if n := testutil.ToFloat64(m.Adapt.Throttles.WithLabelValues("clova")); n != 1 {
		t.Errorf("throttles metric %v, want 1", n)
	}
	if v := testutil.ToFloat64(m.Adapt.LearnedRPS.WithLabelValues("clova")); v <= 0 {
		t.Errorf("learned rps metric %v", v)
	}
	if left := testutil.ToFloat64(m.Adapt.BudgetLeft.WithLabelValues("clova")); left != 1000-31 {
		t.Errorf("budget left metric %v, want %d (the throttle refunded)", left, 1000-31)
	}
	// The learned in-flight limit caps a gate of another process.
	other := NewVendorGate(newClient(t), "clova", GateConfig{Concurrency: 8, Adaptive: true}, p)
	held := []func(error){}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	for {
		done, _, err := other.Acquire(short)
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
		held = append(held, done)
	}
	if len(held) == 0 || len(held) > st.InFlight+1 {
		t.Errorf("another process got %d slots at once; the learned limit is %d", len(held), st.InFlight)
	}
	for _, d := range held {
		d(nil)
	}
}

// An adaptive gate paces its GCRA at the rate in Redis, read with the
// state right before each token: another worker's decrease slows this one
// at once, not when its own copy is next synced.
func TestVendorGateReadsTheLearnedRateWithItsState(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	rdb := newClient(t)
	g := NewVendorGate(rdb, "clova", GateConfig{Adaptive: true}, p)
	st, err := g.State(ctx)
	if err != nil || st.LearnedRPS != 0 {
		t.Fatalf("nothing learned: %+v %v", st, err)
	}
	key := adapt.LearnedKey(buildOptions([]Option{p}).prefix, "clova")
	if err := rdb.Set(ctx, key, `{"rps": 4.5, "inFlight": 3}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if st, err = g.State(ctx); err != nil || st.LearnedRPS != 4.5 {
		t.Fatalf("learned rps %v (%v), want 4.5", st.LearnedRPS, err)
	}
	if rps, burst := g.learnedPace(ctx, st); rps != 4.5 || burst != 1 {
		t.Errorf("pace %v/%d, want 4.5/s burst 1", rps, burst)
	}
	// Exact limits read no learned state.
	if st, _ := NewVendorGate(rdb, "clova", GateConfig{RPS: 10}, p).State(ctx); st.LearnedRPS != 0 {
		t.Errorf("an exact gate read a learned rate %v", st.LearnedRPS)
	}
}
