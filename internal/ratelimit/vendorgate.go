package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/adapt"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// GateConfig is one vendor account's limits as configured
// (vendors.<name>.rateLimit, concurrency, budget).
type GateConfig struct {
	RPS         float64 // rateLimit.rps; 0: none (adaptive: no ceiling)
	Burst       int     // rateLimit.burst
	Concurrency int     // calls in flight per process (vendors.<name>.concurrency)
	Concurrent  int     // rateLimit.concurrent: calls in flight across the fleet; 0: none (adaptive: no ceiling)
	// Adaptive: learn the vendor's limits (package adapt); RPS and
	// Concurrent are then the ceilings of the search, not the limits.
	Adaptive bool
	Budget   *BudgetSpec // nil: no budget
	// Learn tunes the controller (zero: adapt.DefaultConfig); its MaxRPS
	// and MaxInFlight are taken from RPS and Concurrent.
	Learn adapt.Config
}

// VendorGate is the whole gate of one vendor account, as the worker's
// handler passes it before each call (tasks.Gate): the [Limiter] (per-process
// slots, halts, Retry-After, the shared GCRA), the fleet-wide cap on calls in
// flight ([InFlight]), the limits the fleet learns when the vendor's are
// unknown (adapt.Fleet) and the call budget ([Budget]). The handler hands
// each call's outcome back through the func Acquire returns, and the gate
// turns it into what each part needs: a lease released, an observation for
// the learned limits, a budget reservation kept or refunded.
type VendorGate struct {
	*Limiter
	inflight   *InFlight    // nil: no fleet-wide cap on calls in flight
	concurrent int          // the exact cap when not adaptive
	fleet      *adapt.Fleet // nil: the configured limits are exact
	budget     *Budget      // nil: no budget
	am         *adapt.Metrics
}

// NewVendorGate builds vendor's gate from its configuration. Of opts,
// WithMetrics also records the learned limits, throttles and the budget
// (Metrics.Adapt).
func NewVendorGate(rdb redis.UniversalClient, vendor string, c GateConfig, opts ...Option) *VendorGate {
	lim := New(rdb, vendor, c.RPS, c.Burst, c.Concurrency, opts...)
	o := lim.o
	g := &VendorGate{Limiter: lim, concurrent: c.Concurrent}
	if o.metrics != nil {
		g.am = o.metrics.Adapt
	}
	ifOpts := []Option{WithKeyPrefix(o.prefix), WithLogger(o.log)}
	switch {
	case c.Adaptive:
		lc := c.Learn
		lc.MaxRPS, lc.MaxInFlight = c.RPS, c.Concurrent
		g.fleet = adapt.NewFleet(adapt.New(lc), adapt.NewRedisStore(rdb, o.prefix, vendor), nil, 0)
		g.fleet.OnSync = func(s adapt.State) { g.am.Learned(vendor, s) }
		// The GCRA's rate is read from Redis with the limiter's state, right
		// before each token, so a decrease slows every worker at once.
		lim.learnedKey = adapt.LearnedKey(o.prefix, vendor)
		// The acquire script reads the learned in-flight limit itself, so
		// a decrease holds back every worker at once.
		g.inflight = NewInFlight(rdb, vendor, 0, ifOpts...).CapByLearned(adapt.LearnedKey(o.prefix, vendor))
	case c.Concurrent > 0:
		g.inflight = NewInFlight(rdb, vendor, 0, ifOpts...)
	}
	if c.Budget != nil {
		g.budget = NewBudget(rdb, vendor, *c.Budget, o.now, WithKeyPrefix(o.prefix))
	}
	return g
}

// Adaptive reports whether the gate learns the vendor's limits.
func (g *VendorGate) Adaptive() bool { return g.fleet != nil }

// Acquire waits until this process may make one call to the vendor, as
// [Limiter.Acquire] does, and then for a slot under the fleet-wide in-flight
// limit and a call of the budget. done must be called exactly once when the
// call has ended, with its error (nil: the vendor answered with a result;
// a *ocrerr.Error says what it answered). On failure done is nil; err is
// as Limiter.Acquire's, or an *ocrerr.Error with Code BudgetExhausted and
// Halt set when the budget is used up: the caller halts the vendor until
// now + RetryAfter (the next period) as it would for a used-up quota.
func (g *VendorGate) Acquire(ctx context.Context) (done func(callErr error), waited time.Duration, err error) {
	start := g.o.now()
	p := g.configuredPace
	if g.fleet != nil {
		p = g.learnedPace
	}
	release, _, rateBound, err := g.acquire(ctx, p)
	if err != nil {
		return nil, g.o.now().Sub(start), err
	}
	var lease *Lease
	if g.inflight != nil {
		limit := g.concurrent
		if g.fleet != nil {
			_, limit, _ = g.fleet.Limits(ctx) // a Redis error keeps the last limits
		}
		if lease, err = g.inflight.Acquire(ctx, limit); err != nil {
			release()
			return nil, g.o.now().Sub(start), err
		}
	}
	reserved := false
	if g.budget != nil {
		if err := g.reserve(ctx); err != nil {
			if lease != nil {
				lease.Release()
			}
			release()
			return nil, g.o.now().Sub(start), err
		}
		reserved = true
	}
	sent := g.o.now()
	var once sync.Once
	done = func(callErr error) {
		once.Do(func() {
			ended := g.o.now()
			inFlight := 1
			if lease != nil {
				inFlight = lease.InFlight
				lease.Release()
			}
			release()
			g.outcome(callErr, reserved, adapt.Event{Sent: sent, Done: ended, InFlight: inFlight, RateBound: rateBound})
		})
	}
	return done, sent.Sub(start), nil
}

// learnedPace is the fleet's learned rate, one call at a time (burst 1):
// a burst above the learned rate would be a probe nobody decided on. The
// rate is the one in Redis when the state was read (this process's copy
// may be up to a sync interval older), else this process's copy.
func (g *VendorGate) learnedPace(ctx context.Context, st State) (float64, int) {
	if st.LearnedRPS > 0 {
		return st.LearnedRPS, 1
	}
	rps, _, _ := g.fleet.Limits(ctx) // a Redis error keeps the last limits
	return rps, 1
}

// outcome hands one call's result to the budget and the learned limits.
func (g *VendorGate) outcome(callErr error, reserved bool, ev adapt.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // the call's context may have ended
	defer cancel()
	if reserved && !CountsAgainstBudget(callErr) {
		if st, err := g.budget.Record(ctx, -1); err == nil { // a refund: the vendor did not bill this call
			g.am.Budget(g.vendor, st.Calls, st.Left)
		}
	}
	e, isErr := ocrerr.As(callErr)
	ev.Throttled = isErr && e.Throttle
	if ev.Throttled {
		g.am.Throttled(g.vendor)
	}
	// Other errors (a failed recognition, a timeout) say nothing about the
	// limits.
	if g.fleet != nil && (callErr == nil || ev.Throttled) {
		if err := g.fleet.Observe(ctx, ev); err != nil {
			g.o.log.Debug().Err(err).Str("vendor", g.vendor).Msg("learned limits not shared this time")
		}
	}
}

// reserve counts one call against the budget before it is made, so the
// fleet never makes more calls than the budget however many run at once;
// outcome refunds it when the vendor did not bill the call. Over the
// budget it refunds at once and answers BudgetExhausted, unless an
// operator lifted the budget for this period (producer resume).
func (g *VendorGate) reserve(ctx context.Context) error {
	st, err := g.budget.Record(ctx, 1)
	if err != nil {
		return err
	}
	if st.Used <= st.Calls {
		g.am.Budget(g.vendor, st.Calls, st.Left)
		return nil
	}
	lifted, err := g.rdb.Exists(ctx, budgetLiftKey(g.o.prefix, g.vendor)).Result()
	if err == nil && lifted == 1 {
		g.am.Budget(g.vendor, st.Calls, 0)
		return nil
	}
	if st, err = g.budget.Record(ctx, -1); err == nil {
		g.am.Budget(g.vendor, st.Calls, st.Left)
	}
	return &ocrerr.Error{
		Code: ocrerr.BudgetExhausted, Halt: true, RetryAfter: max(time.Second, st.PeriodEnd.Sub(g.o.now())),
		Message: fmt.Sprintf("the budget of %d calls per %s is used up until %s", st.Calls, g.budget.spec.Per,
			st.PeriodEnd.Format(time.RFC3339)),
	}
}

// Budget is the gate's budget counter; nil if the vendor has no budget.
func (g *VendorGate) Budget() *Budget { return g.budget }

// IsBudgetExhausted reports whether err is Acquire's "budget used up".
func IsBudgetExhausted(err error) bool {
	e, ok := ocrerr.As(err)
	return ok && e.Code == ocrerr.BudgetExhausted
}

// Learned reads vendor's learned limits (package adapt's shared state) for
// `producer status`; ok is false if the fleet has learned nothing (or the
// vendor is not adaptive).
func Learned(ctx context.Context, rdb redis.UniversalClient, vendor string, opts ...Option) (s adapt.State, ok bool, err error) {
	return adapt.NewRedisStore(rdb, buildOptions(opts).prefix, vendor).Load(ctx)
}

// budgetLiftKey marks that `producer resume` lifted a budget halt: the
// vendor may go past its budget until the halt would have ended (the key
// expires then, with the period).
func budgetLiftKey(prefix, vendor string) string { return prefix + "rl:{" + vendor + "}:budget:lifted" }
