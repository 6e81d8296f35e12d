package ratelimit

import (
	"time"

	"github.com/rs/zerolog"
)

// Option configures a [Limiter] or a [Gate]. Options that do not apply to a
// Gate (adaptive tuning, halt polling) are ignored by it.
type Option func(*options)

// Adaptive tunes how the shared rate reacts to vendor throttling (AIMD).
type Adaptive struct {
	// Decrease multiplies the rate factor on each throttle. Default 0.5.
	Decrease float64
	// MinFactor is the floor of the rate factor. Default 0.05 (5% of rps).
	MinFactor float64
	// RecoverPerSecond is added to the factor per second since the last
	// decrease, up to 1. Default 0.02: from half rate to full in 25 s.
	RecoverPerSecond float64
	// Cooldown: throttles within this time of the last decrease do not
	// decrease again. Many workers see the same burst of 429s at once; without
	// it one overload would collapse the rate to the floor. Default 1s.
	Cooldown time.Duration
}

// DefaultAdaptive is the tuning used unless [WithAdaptive] says otherwise.
var DefaultAdaptive = Adaptive{Decrease: 0.5, MinFactor: 0.05, RecoverPerSecond: 0.02, Cooldown: time.Second}

type options struct {
	prefix      string
	log         zerolog.Logger
	metrics     *Metrics
	adaptive    Adaptive
	haltPollMin time.Duration
	haltPollMax time.Duration
	maxWait     time.Duration // cap of a vendor's Retry-After
	now         func() time.Time
}

// DefaultMaxRetryAfter caps a vendor's Retry-After unless [WithMaxRetryAfter]
// says otherwise (worker.maxRetryAfter).
const DefaultMaxRetryAfter = 5 * time.Minute

func buildOptions(opts []Option) options {
	o := options{
		prefix:      "ocr:",
		log:         zerolog.Nop(),
		adaptive:    DefaultAdaptive,
		haltPollMin: 250 * time.Millisecond,
		haltPollMax: 5 * time.Second,
		maxWait:     DefaultMaxRetryAfter,
		now:         time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithKeyPrefix sets the prefix of every Redis key (default "ocr:"). Every
// process sharing a vendor account must use the same prefix.
func WithKeyPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithLogger sets the logger for halts, resumes and throttles.
func WithLogger(log zerolog.Logger) Option { return func(o *options) { o.log = log } }

// WithMetrics records waits, throttles, the rate factor and halts in m.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

// WithAdaptive replaces the throttling tuning; zero fields keep their defaults.
func WithAdaptive(a Adaptive) Option {
	return func(o *options) {
		if a.Decrease > 0 && a.Decrease < 1 {
			o.adaptive.Decrease = a.Decrease
		}
		if a.MinFactor > 0 && a.MinFactor <= 1 {
			o.adaptive.MinFactor = a.MinFactor
		}
		if a.RecoverPerSecond > 0 {
			o.adaptive.RecoverPerSecond = a.RecoverPerSecond
		}
		if a.Cooldown > 0 {
			o.adaptive.Cooldown = a.Cooldown
		}
	}
}

// WithHaltPoll sets how often a halted Acquire looks again: it starts at min
// and doubles up to max (defaults 250ms and 5s). Max bounds how late a worker
// notices a resume.
func WithHaltPoll(min, max time.Duration) Option {
	return func(o *options) {
		if min > 0 {
			o.haltPollMin = min
		}
		if max >= o.haltPollMin {
			o.haltPollMax = max
		}
	}
}

// WithMaxRetryAfter caps the wait a vendor's Retry-After imposes on every
// process (default DefaultMaxRetryAfter): a Retry-After of a year, or one
// that overflowed, must not stall every worker. The cap also bounds a
// longer wait already stored in Redis (by a worker with another cap).
func WithMaxRetryAfter(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.maxWait = d
		}
	}
}

// WithClock replaces time.Now as this process's clock (tests pass a fake
// one to step through halts and the halt cache without sleeping). It tells
// the time of halts and of waits; the times several machines compare come
// from Redis's clock whatever it says, and waits still sleep real time.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// Redis keys of one vendor account. The "{vendor}" hash tag keeps them in
// one Redis Cluster slot, which the throttle script (two keys) needs.
func gcraKey(prefix, vendor string) string      { return prefix + "rl:{" + vendor + "}:gcra" }
func adaptKey(prefix, vendor string) string     { return prefix + "rl:{" + vendor + "}:adapt" }
func notBeforeKey(prefix, vendor string) string { return prefix + "rl:{" + vendor + "}:notbefore" }
func haltKey(prefix, vendor string) string      { return prefix + "rl:{" + vendor + "}:halt" }
