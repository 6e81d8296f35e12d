// Package adapt learns a vendor account's limits when nobody configured
// them: a rate (calls per second) and a number of calls in flight, from the
// vendor's throttle answers and from latency. The whole fleet learns one
// estimate together: the state lives in a [Store] (Redis in production), and
// every worker process feeds it the outcomes of its calls ([Fleet]).
//
// The vendor's throttle answer (CLOVA/eKYC 0025, HTTP 429, NHN 4000006) does
// not say which kind of limit was hit, so both are learned, and each throttle
// is blamed on one of them by the evidence the call carries: the number of
// calls the fleet had in flight when it was sent. A limit on calls in flight
// throttles only calls sent above every level that recently succeeded; a rate
// limit throttles at levels that succeed all the time. See docs/throttling.md.
//
// The controller is pure logic: [Controller.Observe] moves a [State] given an
// [Event]; time comes from the events and the caller, never from a clock.
package adapt

import (
	"math"
	"time"
)

// Config is the controller's tuning. Zero fields take the defaults
// ([DefaultConfig]); MaxRPS and MaxInFlight are the ceilings of the search
// (rateLimit.rps and rateLimit.concurrent with adaptive: true).
type Config struct {
	MaxRPS      float64 // ceiling of the learned rate; 0: none
	MaxInFlight int     // ceiling of the learned in-flight limit; 0: none

	StartRPS float64 // where a fleet with no estimate starts (default 2/s)
	MinRPS   float64 // floor of the learned rate (default 0.05/s)

	// Decrease is the share of the vendor's accepted rate the rate limit is
	// set to after a throttle (default 0.97). Throttles that keep coming
	// after a decrease square it each time (0.97, 0.94, 0.89, ...).
	Decrease float64
	// HoldCalls and HoldTime: after a decrease, the limit stays put for at
	// least this many successful calls and this long before probing above
	// it again (defaults 200 and 3s). Every probe above the vendor's limit
	// costs about one throttled call, so the hold is what keeps throttles
	// under 1% of calls.
	HoldCalls int
	HoldTime  time.Duration
	// Settle: throttles of calls sent within this time after a decrease
	// belong to the same episode (other workers' copies of the limits are up
	// to DefaultSyncEvery stale). Default 250ms.
	Settle time.Duration
	// ProbeCalls: successful calls at a probe step before the next (default 8).
	ProbeCalls int
	// ProbeTime: the shortest probe step (default 500ms), so that a vendor's
	// burst allowance cannot hide a probe's overshoot for long.
	ProbeTime time.Duration
	// ProbeStep is the first probe's increase (default 0.05); each further
	// step without a throttle doubles it, up to doubling the limit.
	ProbeStep float64
	// LatencyTolerance: a short-term latency this many times the long-term
	// one means the vendor is queueing our calls (default 2): the in-flight
	// limit is lowered as a throttle would, and does not grow meanwhile.
	LatencyTolerance float64
}

// DefaultConfig is the tuning the simulation test checks.
var DefaultConfig = Config{
	StartRPS: 2, MinRPS: 0.05, Decrease: 0.97, Settle: 250 * time.Millisecond,
	HoldCalls: 200, HoldTime: 3 * time.Second, ProbeCalls: 8, ProbeTime: 500 * time.Millisecond, ProbeStep: 0.05, LatencyTolerance: 2,
}

func (c Config) withDefaults() Config {
	d := DefaultConfig
	if c.StartRPS > 0 {
		d.StartRPS = c.StartRPS
	}
	if c.MinRPS > 0 {
		d.MinRPS = c.MinRPS
	}
	if c.Decrease > 0 && c.Decrease < 1 {
		d.Decrease = c.Decrease
	}
	if c.HoldCalls > 0 {
		d.HoldCalls = c.HoldCalls
	}
	if c.HoldTime > 0 {
		d.HoldTime = c.HoldTime
	}
	if c.Settle > 0 {
		d.Settle = c.Settle
	}
	if c.ProbeCalls > 0 {
		d.ProbeCalls = c.ProbeCalls
	}
	if c.ProbeTime > 0 {
		d.ProbeTime = c.ProbeTime
	}
	if c.ProbeStep > 0 {
		d.ProbeStep = c.ProbeStep
	}
	if c.LatencyTolerance > 1 {
		d.LatencyTolerance = c.LatencyTolerance
	}
	d.MaxRPS, d.MaxInFlight = c.MaxRPS, c.MaxInFlight
	if d.MaxRPS > 0 {
		d.StartRPS = min(d.StartRPS, d.MaxRPS)
	}
	return d
}

// Event is the outcome of one vendor call.
type Event struct {
	Sent, Done time.Time
	// InFlight is the fleet's calls in flight when this one was sent, itself
	// included (the in-flight lease's count).
	InFlight int
	// RateBound: the call waited for the learned rate before it was sent;
	// only such calls show that the rate limit is what holds the fleet back.
	RateBound bool
	Throttled bool // the vendor said too many calls
	// Other outcomes (errors that are not throttles) are not events: they
	// say nothing about the limits.
}

// Controller applies events to a State. It holds only the tuning, so one
// Controller serves any number of goroutines.
type Controller struct{ c Config }

// New returns a controller with config c (zero fields: defaults).
func New(c Config) *Controller { return &Controller{c: c.withDefaults()} }

// Config returns the tuning in force.
func (k *Controller) Config() Config { return k.c }

// Start is the state of a fleet that has learned nothing yet: a low rate and
// one call in flight, growing in slow start (doubling per round trip) until
// the first throttle.
func (k *Controller) Start(now time.Time) State {
	s := State{RPS: k.c.StartRPS, InFlight: 1, SlowStart: true}
	s.Rate.Since = now.UnixMilli()
	s.Win.Since = now.UnixMilli()
	s.clamp(k.c)
	return s
}

// Observe applies one event at time now (now >= ev.Done).
func (k *Controller) Observe(s *State, ev Event, now time.Time) {
	if ev.InFlight < 1 {
		ev.InFlight = 1
	}
	if ev.Throttled {
		k.throttled(s, ev, now)
	} else {
		k.succeeded(s, ev, now)
	}
	s.clamp(k.c)
}

func (k *Controller) succeeded(s *State, ev Event, now time.Time) {
	s.Successes++
	s.Recent.add(ev.InFlight)
	s.Accepted.add(ev.Done.UnixMilli(), 1)
	lat := ev.Done.Sub(ev.Sent).Seconds()
	s.Latency.add(lat)

	// The long average needs ~200 calls before it means anything.
	queueing := s.Latency.Short > k.c.LatencyTolerance*s.Latency.Long && s.Latency.N >= 200
	if queueing && ev.Sent.UnixMilli() >= s.LastDecrease {
		// Vegas/gradient signal: latency grew with load, the vendor queues.
		s.InFlight = max(1, int(float64(s.InFlight)*s.Latency.Long*k.c.LatencyTolerance/s.Latency.Short))
		k.decreased(s, now, "latency")
		s.Latency.Short = s.Latency.Long // one decrease per episode
		return
	}

	sentMs := ev.Sent.UnixMilli()
	// The in-flight limit grows only on calls sent with every slot taken
	// (in slow start: half of them, as TCP's window validation).
	if s.SlowStart && 2*ev.InFlight >= s.InFlight && !queueing {
		s.InFlight++ // +1 per success: doubles per round trip
	} else if ev.InFlight >= s.InFlight && sentMs >= s.Win.Since && !queueing {
		if k.step(&s.Win, now, s.Win.Burst > 0) {
			s.InFlight += max(1, int(math.Ceil(float64(s.InFlight)*k.probe(s.Win.Steps-1))))
		}
	}
	// The rate grows only on calls that waited for it.
	if ev.RateBound && sentMs >= s.Rate.Since {
		if s.SlowStart {
			// Doubles per round trip, or per call when calls are further
			// apart than a round trip.
			s.RPS += math.Min(s.RPS, 1/math.Max(lat, 0.001))
		} else if k.step(&s.Rate, now, s.RPS >= farBelow*s.Rate.Hi) {
			s.Rate.Good = s.RPS // it held: a throttle above it goes back here
			s.RPS *= 1 + k.probe(s.Rate.Steps-1)
		}
		// Never far above what is used (AWS SDK's cap at twice the measured
		// rate): a limit that nothing tests is no knowledge.
		if !s.SlowStart {
			s.RPS = math.Min(s.RPS, math.Max(k.c.StartRPS, 2*s.Accepted.rate(now.UnixMilli())))
		}
	}
}

// step counts a success toward the dimension's next probe and reports
// whether the limit should go up now. After a decrease the limit holds
// (hold) or, when the decrease was only a rough guess, probes at once.
func (k *Controller) step(d *Dim, now time.Time, hold bool) bool {
	d.OK++
	need, dur := k.c.ProbeCalls, k.c.ProbeTime
	if d.Steps == 0 && hold {
		need, dur = k.c.HoldCalls, k.c.HoldTime
	}
	if d.OK < need || now.UnixMilli()-d.Since < dur.Milliseconds() {
		return false
	}
	d.OK = 0
	d.Steps++
	d.Since = now.UnixMilli()
	return true
}

// probe is the increase of probe step i: ProbeStep doubled i times, at most 1.
func (k *Controller) probe(i int) float64 {
	return math.Min(1, k.c.ProbeStep*math.Pow(2, float64(i)))
}

// farBelow: a limit under this share of the level last throttled probes
// without a hold.
const farBelow = 0.9

// settled reports whether a throttle of a call sent at sent is old news for
// a limit last decreased at last: sent before that decrease had reached
// every worker, so already answered.
func (k *Controller) settled(last int64, sent time.Time) bool {
	return last > 0 && sent.UnixMilli() < last+k.c.Settle.Milliseconds()
}

func (k *Controller) throttled(s *State, ev Event, now time.Time) {
	s.Throttles++
	// Above every level that recently succeeded: a limit on calls in flight.
	ok := s.Recent.max()
	if ok > 0 && ev.InFlight > ok {
		if k.settled(s.WinDecrease, ev.Sent) {
			return
		}
		if s.SlowStart {
			// The rate grew in slow start too and nothing has tested it:
			// bring it down to what the new in-flight limit carries (calls
			// / latency) and let it probe up from there. Calls that waited
			// for a slot holding a token go out back to back, so an
			// untested rate would throttle the in-flight probe and "confirm"
			// a rate limit as a limit on calls in flight.
			hi := s.RPS
			if s.Latency.Long > 0 {
				s.RPS = math.Min(s.RPS, float64(ok)/s.Latency.Long)
			}
			s.Rate = Dim{Since: now.UnixMilli(), Hi: hi}
		}
		s.SlowStart = false
		// The level is only held once a second throttle at the same level
		// confirms it: a rate limit also throttles at new peaks of calls in
		// flight (in slow start, say), and holding a wrongly blamed level of
		// 1 or 2 at a long latency would starve the fleet for minutes.
		confirmed := 0
		if s.Win.Hi == float64(ev.InFlight) {
			confirmed = 1
		}
		s.Win = Dim{Since: now.UnixMilli(), Hi: float64(ev.InFlight), Burst: confirmed}
		s.InFlight = ok
		s.Mode = ModeInFlight
		s.WinDecrease = now.UnixMilli()
		k.decreased(s, now, ModeInFlight)
		return
	}
	if k.settled(s.RateDecrease, ev.Sent) {
		return
	}
	s.SlowStart = false
	// At a level that succeeds: a rate limit. Set the rate under what the
	// vendor accepted. A throttle soon after a decrease that has not probed
	// yet means that decrease was not enough: square the factor.
	if s.Mode == ModeRate && s.Rate.Steps == 0 && now.UnixMilli()-s.Rate.Since < k.c.HoldTime.Milliseconds() {
		s.Rate.Burst = min(s.Rate.Burst+1, 4)
	} else {
		s.Rate.Burst = 0
	}
	f := math.Pow(k.c.Decrease, math.Pow(2, float64(s.Rate.Burst)))
	base := s.RPS
	if acc := s.Accepted.rate(now.UnixMilli()); acc > 0 {
		base = math.Min(base, acc)
	}
	hi := s.RPS
	s.RPS = base * f
	// A probe was throttled: the level it started from held (for a whole
	// hold or probe step), so go back there and no lower. The accepted
	// rate alone would ratchet the limit down a little at every probe.
	if s.Rate.Steps > 0 {
		s.RPS = math.Max(s.RPS, s.Rate.Good)
	}
	s.Mode = ModeRate
	s.Rate = Dim{Since: now.UnixMilli(), Burst: s.Rate.Burst, Hi: hi}
	s.RateDecrease = now.UnixMilli()
	k.decreased(s, now, ModeRate)
}

func (k *Controller) decreased(s *State, now time.Time, why string) {
	s.LastDecrease = now.UnixMilli()
	s.Decreases++
	s.LastCause = why
}

// Limits is what a worker enforces: the learned rate and in-flight limit.
func (s State) Limits() (rps float64, inFlight int) { return s.RPS, s.InFlight }

// Modes: which limit the last decrease blamed.
const (
	ModeRate     = "rate"
	ModeInFlight = "inflight"
)

// State is the fleet's learned estimate of one vendor account. It is stored
// as JSON (see [Store]); its fields are exported for that and for status.
type State struct {
	RPS       float64 `json:"rps"`
	InFlight  int     `json:"inFlight"`
	SlowStart bool    `json:"slowStart"`
	Mode      string  `json:"mode,omitempty"` // the limit the last throttle was blamed on
	LastCause string  `json:"lastCause,omitempty"`

	LastDecrease int64 `json:"lastDecrease"` // unix ms of the last decrease of either limit
	RateDecrease int64 `json:"rateDecrease"` // unix ms; rate throttles of calls sent before it are old news
	WinDecrease  int64 `json:"inFlightDecrease"`
	Decreases    int64 `json:"decreases"`
	Successes    int64 `json:"successes"`
	Throttles    int64 `json:"throttles"`

	Rate     Dim     `json:"rateProbe"`
	Win      Dim     `json:"inFlightProbe"`
	Recent   Levels  `json:"recent"`
	Accepted Counter `json:"accepted"`
	Latency  EWMA    `json:"latency"`
}

// clamp keeps the limits inside the floor and the configured ceilings.
func (s *State) clamp(c Config) {
	s.RPS = math.Max(s.RPS, c.MinRPS)
	if c.MaxRPS > 0 {
		s.RPS = math.Min(s.RPS, c.MaxRPS)
	}
	s.InFlight = max(1, s.InFlight)
	if c.MaxInFlight > 0 {
		s.InFlight = min(s.InFlight, c.MaxInFlight)
	}
}

// Dim is the probing state of one limit.
type Dim struct {
	Since int64 `json:"since"` // unix ms of the last change: only calls sent after it count
	OK    int   `json:"ok"`    // successes toward the next step
	Steps int   `json:"steps"` // probe steps since the last decrease (0: holding)
	// Burst: for the rate, decreases in a row that did not hold; for calls
	// in flight, 1 if the level was confirmed by a second throttle.
	Burst int `json:"burst"`
	// Hi is the level the last decrease came from (the limit that was
	// throttled); Good the last level that held through a hold or probe
	// step (rate only).
	Hi   float64 `json:"hi,omitempty"`
	Good float64 `json:"good,omitempty"`
}

// Levels is a ring of the in-flight levels of the last successes.
type Levels struct {
	V   [32]int `json:"v"`
	Pos int     `json:"pos"`
}

func (l *Levels) add(n int) { l.V[l.Pos] = n; l.Pos = (l.Pos + 1) % len(l.V) }
func (l *Levels) max() int {
	m := 0
	for _, n := range l.V {
		m = max(m, n)
	}
	return m
}

// Counter counts successes in 250ms buckets over the last 10s.
type Counter struct {
	Start int64   `json:"start"` // unix ms of the first count: the window never reaches before it
	B     [40]int `json:"b"`
	First int64   `json:"first"` // number (unix ms / 250) of the newest bucket, kept at B[First % 40]
}

const bucketMs = 250

func (c *Counter) roll(ms int64) {
	n := ms / bucketMs
	if c.First == 0 {
		c.First = n
	}
	for c.First < n {
		c.First++
		c.B[c.First%int64(len(c.B))] = 0
		if n-c.First > int64(len(c.B)) {
			c.B, c.First = [40]int{}, n
		}
	}
}

func (c *Counter) add(ms int64, k int) {
	if ms/bucketMs < c.First-int64(len(c.B))+1 {
		return // older than the window
	}
	if c.Start == 0 {
		c.Start = ms
	}
	if ms/bucketMs > c.First {
		c.roll(ms)
	}
	c.B[(ms/bucketMs)%int64(len(c.B))] += k
}

// rate is the successes per second over the shortest recent window of at
// least 1 s that holds at least 20 of them (all 10 s if fewer), never
// reaching before the first count.
func (c *Counter) rate(now int64) float64 {
	if c.Start == 0 {
		return 0
	}
	c.roll(now)
	sum := 0
	for i := 0; i < len(c.B); i++ {
		from := max(c.Start, (c.First-int64(i))*bucketMs)
		sum += c.B[(c.First-int64(i))%int64(len(c.B))]
		span := float64(now-from) / 1000
		if (sum >= 20 && span >= 1) || i == len(c.B)-1 || from == c.Start {
			return float64(sum) / math.Max(span, 0.001)
		}
	}
	return 0
}

// EWMA tracks latency in seconds: Short over ~10 calls, Long over ~200.
type EWMA struct {
	Short float64 `json:"short"`
	Long  float64 `json:"long"`
	N     int     `json:"n"`
}

func (e *EWMA) add(x float64) {
	if e.N == 0 {
		e.Short, e.Long = x, x
	}
	e.N++
	e.Short += (x - e.Short) / 10
	e.Long += (x - e.Long) / 200
}
