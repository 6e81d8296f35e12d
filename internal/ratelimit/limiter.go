package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/clock"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// ErrHalted matches the error Acquire returns when its context ends while
// the vendor is halted. The task should be handed back without counting a
// failure: nothing is wrong with it. errors.As gives the *HaltedError.
var ErrHalted = errors.New("vendor halted")

// HaltedError is Acquire's error when its context ended during a halt.
type HaltedError struct{ State HaltState }

func (e *HaltedError) Error() string {
	return fmt.Sprintf("ratelimit: vendor %s halted (%s)", e.State.Vendor, e.State.Reason)
}

// Is makes errors.Is(err, ErrHalted) true.
func (e *HaltedError) Is(target error) bool { return target == ErrHalted }

// Limiter paces the calls of every worker process to one vendor account.
// Create one per vendor account per process; all methods are safe for
// concurrent use. Its Acquire, Throttled, Halt and Halted are the gate the
// worker's handler passes before each vendor call (tasks.Gate).
type Limiter struct {
	rdb    redis.UniversalClient
	gcra   *redis_rate.Limiter
	gate   *Gate
	vendor string
	rps    float64
	burst  int
	slots  chan struct{} // per-process concurrency cap; nil: none
	o      options

	learnedKey string // adaptive: the fleet's learned limits, read with the state

	sawHalt  atomic.Bool // this process has logged the current halt
	haltSeen haltView    // Halted's cached answer
}

// New returns the limiter of vendor account `vendor`: together, all
// processes using the same Redis and vendor name make at most rps calls per
// second with bursts of up to burst; this process has at most concurrency
// calls in flight. rps <= 0 disables the shared rate (halts and Retry-After
// still apply); concurrency <= 0 disables the per-process cap; burst < 1
// counts as 1.
//
// All processes share one GCRA key per vendor whatever rate they pass. That
// is correct because GCRA's state is an absolute instant (the theoretical
// arrival time), not a token count tied to a rate: after the effective rate
// changes, the stored debt is simply paid off at the new rate, and a lower
// rate can never release more than burst calls at once. A key per rate would
// instead hand out a fresh burst at every change, and a rolling deploy with
// two configured rates would get the sum of both.
func New(rdb redis.UniversalClient, vendor string, rps float64, burst int, concurrency int, opts ...Option) *Limiter {
	o := buildOptions(opts)
	l := &Limiter{
		rdb:    rdb,
		gcra:   redis_rate.NewLimiter(rdb),
		gate:   &Gate{rdb: rdb, o: o},
		vendor: vendor,
		rps:    rps,
		burst:  max(1, burst),
		o:      o,
	}
	if concurrency > 0 {
		l.slots = make(chan struct{}, concurrency)
	}
	return l
}

// Acquire waits until this process may make one call to the vendor: it takes
// a concurrency slot, waits out any halt and Retry-After, then takes a
// shared GCRA token. The caller bounds the wait with ctx (task deadline,
// shutdown). On success the caller must call release once the vendor call
// has ended. On failure release is nil and err is a *HaltedError (matching
// ErrHalted) if the vendor was halted when ctx ended, wraps ctx.Err() if ctx
// ended otherwise, or wraps a Redis error.
//
// The worker's handler passes the vendor's [VendorGate], which adds the
// fleet-wide in-flight cap, the learned limits and the budget to this.
func (l *Limiter) Acquire(ctx context.Context) (release func(), waited time.Duration, err error) {
	release, waited, _, err = l.acquire(ctx, l.configuredPace)
	return release, waited, err
}

// pace gives the rate (calls/s; <= 0: none) and GCRA burst to take a token
// at, from the shared state just read.
type pace func(ctx context.Context, st State) (rps float64, burst int)

// configuredPace is the configured rate scaled by the throttle factor.
func (l *Limiter) configuredPace(_ context.Context, st State) (float64, int) {
	return st.EffectiveRPS, grantBurst(st.Burst)
}

// acquire is Acquire at a given pace; rateBound reports whether the GCRA
// made the call wait (the adaptive controller's evidence that the rate is
// what holds the fleet back).
func (l *Limiter) acquire(ctx context.Context, p pace) (release func(), waited time.Duration, rateBound bool, err error) {
	start := l.o.now()
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, l.o.now().Sub(start), false, l.ctxErr(ctx, "a concurrency slot")
		}
	}
	var once sync.Once
	release = func() {
		if l.slots != nil {
			once.Do(func() { <-l.slots })
		}
	}
	rateBound, err = l.waitTurn(ctx, p)
	if err != nil {
		release()
		return nil, l.o.now().Sub(start), false, err
	}
	waited = l.o.now().Sub(start)
	l.o.metrics.observeWait(l.vendor, waited.Seconds())
	return release, waited, rateBound, nil
}

// waitTurn loops until a GCRA token is granted, sleeping out halts,
// Retry-After and GCRA's own RetryAfter in between.
func (l *Limiter) waitTurn(ctx context.Context, p pace) (rateBound bool, err error) {
	haltPoll := l.o.haltPollMin
	var lastHalt *HaltState
	for {
		st, err := l.State(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return rateBound, l.waitEnded(ctx, lastHalt)
			}
			return rateBound, err
		}
		l.o.metrics.factor(l.vendor, st.Factor)
		if st.Halt != nil {
			lastHalt = st.Halt
			l.noteHalt(*st.Halt)
			if clock.Sleep(ctx, withJitter(haltPoll)) != nil {
				return rateBound, &HaltedError{State: *st.Halt}
			}
			haltPoll = min(2*haltPoll, l.o.haltPollMax)
			continue
		}
		lastHalt = nil
		haltPoll = l.o.haltPollMin
		l.noteResumed()
		if st.RetryAfter > 0 {
			if clock.Sleep(ctx, withJitter(st.RetryAfter)) != nil {
				return rateBound, l.ctxErr(ctx, "the vendor's Retry-After")
			}
			continue
		}
		rps, burst := p(ctx, st)
		if rps <= 0 {
			return rateBound, nil
		}
		res, err := l.gcra.Allow(ctx, gcraKey(l.o.prefix, l.vendor), redis_rate.Limit{
			Rate: 1, Period: emissionInterval(rps), Burst: max(1, burst),
		})
		if err != nil {
			if ctx.Err() != nil {
				return rateBound, l.ctxErr(ctx, "a rate-limit token")
			}
			return rateBound, fmt.Errorf("ratelimit: %s: take token: %w", l.vendor, err)
		}
		if res.Allowed > 0 {
			return rateBound, nil
		}
		rateBound = true
		if clock.Sleep(ctx, withJitter(res.RetryAfter)) != nil {
			return rateBound, l.ctxErr(ctx, "a rate-limit token")
		}
	}
}

func (l *Limiter) waitEnded(ctx context.Context, halt *HaltState) error {
	if halt != nil {
		return &HaltedError{State: *halt}
	}
	return l.ctxErr(ctx, "its turn")
}

func (l *Limiter) ctxErr(ctx context.Context, what string) error {
	return fmt.Errorf("ratelimit: %s: gave up waiting for %s: %w", l.vendor, what, ctx.Err())
}

// noteHalt logs once per halt per process, so every machine's log says why
// its calls stopped.
func (l *Limiter) noteHalt(h HaltState) {
	if l.sawHalt.CompareAndSwap(false, true) {
		l.o.metrics.halted(l.vendor, true)
		l.o.log.Warn().Str("vendor", h.Vendor).Str("reason", string(h.Reason)).Time("until", h.Until).
			Msg("vendor halted: calls wait until it is resumed")
	}
}

func (l *Limiter) noteResumed() {
	if l.sawHalt.CompareAndSwap(true, false) {
		l.o.metrics.halted(l.vendor, false)
		l.o.log.Info().Str("vendor", l.vendor).Msg("vendor calls resumed")
	}
}

// State is what every process currently sees for a vendor account.
type State struct {
	Factor       float64       // share of the configured rps in force (1 = full)
	EffectiveRPS float64       // configured rps * Factor
	Burst        int           // configured burst scaled by Factor, at least 1
	RetryAfter   time.Duration // time left of the vendor's Retry-After; 0 if none
	Halt         *HaltState    // nil unless halted
	// LearnedRPS is the fleet's learned rate (package adapt's state in
	// Redis) read in the same round trip, for an adaptive [VendorGate];
	// 0 if none is stored or the limiter is not adaptive.
	LearnedRPS float64
}

// State reads the shared state in one round trip to Redis.
func (l *Limiter) State(ctx context.Context) (State, error) {
	adapt, nb, halt := adaptKey(l.o.prefix, l.vendor), notBeforeKey(l.o.prefix, l.vendor), haltKey(l.o.prefix, l.vendor)
	pipe := l.rdb.Pipeline()
	timeCmd := pipe.Time(ctx)
	haltCmd := pipe.HGetAll(ctx, halt)
	nbCmd := pipe.Get(ctx, nb)
	adaptCmd := pipe.HMGet(ctx, adapt, "f", "ts")
	cmds := []redis.Cmder{timeCmd, haltCmd, nbCmd, adaptCmd}
	var learnedCmd *redis.StringCmd
	if l.learnedKey != "" {
		learnedCmd = pipe.Get(ctx, l.learnedKey)
		cmds = append(cmds, learnedCmd)
	}
	_, _ = pipe.Exec(ctx) // errors are checked per command: a missing key (redis.Nil) is no error
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return State{}, fmt.Errorf("ratelimit: %s: read state: %w", l.vendor, err)
		}
	}
	now := timeCmd.Val().UnixMilli()

	var st State
	if h, ok := parseHalt(l.vendor, haltCmd.Val(), l.o.now()); ok {
		st.Halt = &h
	}
	if nbMs, err := strconv.ParseInt(nbCmd.Val(), 10, 64); err == nil && nbMs > now {
		st.RetryAfter = min(time.Duration(min(nbMs-now, math.MaxInt64/int64(time.Millisecond)))*time.Millisecond, l.o.maxWait)
	}
	vals := adaptCmd.Val()
	f, _ := strconv.ParseFloat(stringOf(vals, 0), 64)
	ts, _ := strconv.ParseInt(stringOf(vals, 1), 10, 64)
	st.Factor = recoveredFactor(f, ts, now, l.o.adaptive.RecoverPerSecond)
	st.EffectiveRPS = l.rps * st.Factor
	st.Burst = effectiveBurst(l.burst, st.Factor)
	if learnedCmd != nil && learnedCmd.Err() == nil {
		var v struct {
			RPS float64 `json:"rps"`
		}
		if json.Unmarshal([]byte(learnedCmd.Val()), &v) == nil && v.RPS > 0 {
			st.LearnedRPS = v.RPS
		}
	}
	return st, nil
}

func stringOf(vals []any, i int) string {
	if i < len(vals) {
		if s, ok := vals[i].(string); ok {
			return s
		}
	}
	return ""
}

// Throttled reports that the vendor throttled a call: every process slows
// down (at most one decrease per cooldown, however many workers report the
// same overload) and, if the vendor gave a Retry-After, waits that long
// before its next call. The rate then recovers by itself.
// retryAfter is capped (WithMaxRetryAfter). A Redis failure to record it is
// logged: the caller retries the call through Acquire either way.
func (l *Limiter) Throttled(ctx context.Context, retryAfter time.Duration) {
	retryAfter = min(retryAfter, l.o.maxWait)
	a := l.o.adaptive
	res, err := throttleScript.Run(ctx, l.rdb,
		[]string{adaptKey(l.o.prefix, l.vendor), notBeforeKey(l.o.prefix, l.vendor)},
		a.Decrease, a.MinFactor, a.RecoverPerSecond, a.Cooldown.Milliseconds(), retryAfter.Milliseconds(),
	).Slice()
	if err != nil {
		l.o.log.Warn().Err(err).Str("vendor", l.vendor).Msg("ratelimit: vendor throttle not shared with the other workers")
		return
	}
	factor, _ := strconv.ParseFloat(fmt.Sprint(res[0]), 64)
	decreased, _ := res[1].(int64)
	l.o.metrics.throttled(l.vendor, factor)
	l.o.log.Info().Str("vendor", l.vendor).Float64("rateFactor", factor).Bool("decreased", decreased == 1).
		Dur("retryAfter", retryAfter).Msg("vendor throttled us: shared rate lowered")
}

// Halt stops every worker from calling the vendor until `until` (zero:
// until resumed), for reason code (a result-v1 code such as
// quota_exhausted; never a secret). This process's [Limiter.Halted] knows
// at once; other processes within haltCacheFor.
func (l *Limiter) Halt(ctx context.Context, code string, until time.Time) error {
	if err := l.gate.Halt(ctx, l.vendor, ocrerr.Code(code), until); err != nil {
		return err
	}
	v := &l.haltSeen
	v.mu.Lock()
	v.checked, v.until, v.halted = l.o.now(), until, true
	v.mu.Unlock()
	return nil
}

// Halted reports whether the vendor is halted, and until when (zero: until
// resumed). Every task asks before any work, so the answer is kept for
// haltCacheFor: a busy process reads the halt from Redis about once a
// second, not once a task. Acquire still reads it live. A Redis failure
// reads as "not halted": Acquire then waits or fails on its own.
func (l *Limiter) Halted(ctx context.Context) (until time.Time, halted bool) {
	v := &l.haltSeen
	v.mu.Lock() // held across the read: one Redis read per expiry, however many tasks ask
	defer v.mu.Unlock()
	now := l.o.now()
	if !v.checked.IsZero() && now.Sub(v.checked) < haltCacheFor && !now.Before(v.checked) {
		return v.until, v.halted
	}
	st, halted, err := l.gate.Halted(ctx, l.vendor)
	if err != nil {
		return time.Time{}, false
	}
	v.checked, v.until, v.halted = now, st.Until, halted
	return st.Until, halted
}

// haltCacheFor is how stale a process's view of a vendor halt may be.
const haltCacheFor = time.Second

// haltView is this process's last answer to "is the vendor halted?".
type haltView struct {
	mu      sync.Mutex
	checked time.Time // when it was read; zero: never
	until   time.Time
	halted  bool
}

// withJitter spreads processes that would otherwise wake together and race
// for the same token.
func withJitter(d time.Duration) time.Duration {
	if d < 0 {
		d = 0
	}
	return d + rand.N(d/10+2*time.Millisecond)
}
