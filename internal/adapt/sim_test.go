package adapt

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The simulation: a fleet of workers, each with `slots` calls at a time
// (asynq concurrency) and its own Fleet view, against a simulated vendor on
// a virtual clock. Everything the production path shares through Redis is
// shared here in memory: the learned state (MemStore, with each worker's
// copy up to DefaultSyncEvery stale, as in production), the GCRA rate
// (burst 1) and the in-flight count. Each call takes a rate token first,
// then an in-flight slot, then goes to the vendor; a throttled call is
// answered after 5ms and its worker slot tries again at once (the task is
// retried), so demand never runs out.

type simVendor struct {
	rate   float64 // calls/s, 0: none
	burst  float64
	tokens float64
	last   time.Duration
	conc   int // calls in flight, 0: none
	busy   int

	latMin, latMax time.Duration
}

// setRate is PUT behavior on the emulator: a new bucket, full.
func (v *simVendor) setRate(r float64, burst int) {
	v.rate, v.burst, v.tokens = r, float64(max(1, burst)), float64(max(1, burst))
}

// admit mirrors emulator.Engine.Admit: the bucket is drawn first, then the
// in-flight limit checked.
func (v *simVendor) admit(now time.Duration) bool {
	ok := true
	if v.rate > 0 {
		v.tokens = math.Min(v.burst, v.tokens+(now-v.last).Seconds()*v.rate)
		v.last = now
		if v.tokens >= 1 {
			v.tokens--
		} else {
			ok = false
		}
	}
	if v.conc > 0 && v.busy >= v.conc {
		ok = false
	}
	if ok {
		v.busy++
	}
	return ok
}

type simEvent struct {
	at  time.Duration
	seq int
	fn  func()
}

type eventHeap []simEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(simEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type sim struct {
	now    time.Duration
	epoch  time.Time
	events eventHeap
	seq    int
	rnd    *rand.Rand

	vendor   simVendor
	tat      time.Duration // shared GCRA
	inFlight int           // shared in-flight count
	waiters  []*simWaiter

	fleets []*Fleet
	store  *MemStore

	// Measurements: per-second successes and throttles, and totals.
	okPerSec, thrPerSec []int
	calls, throttles    int
	learned             []string // a sample of the learned limits, for failure logs
}

type simWaiter struct {
	fn   func()
	done bool
}

func (s *sim) at(d time.Duration, fn func()) {
	s.seq++
	heap.Push(&s.events, simEvent{at: s.now + d, seq: s.seq, fn: fn})
}

func (s *sim) clock() time.Time { return s.epoch.Add(s.now) }

func newSim(workers, slots int, v simVendor, cfg Config, seed uint64) *sim {
	s := &sim{epoch: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), rnd: rand.New(rand.NewPCG(seed, 7)), vendor: v}
	ctrl := New(cfg)
	store := &MemStore{}
	s.store = store
	for w := 0; w < workers; w++ {
		f := NewFleet(ctrl, store, s.clock, 0)
		s.fleets = append(s.fleets, f)
		for i := 0; i < slots; i++ {
			// Workers start a little apart, as processes do.
			s.at(time.Duration(s.rnd.Int64N(int64(50*time.Millisecond))), func() { s.call(f) })
		}
	}
	return s
}

// call is one worker slot's next vendor call, from the rate token on.
func (s *sim) call(f *Fleet) { s.token(f, false) }

func (s *sim) token(f *Fleet, waited bool) {
	rps, _, _ := f.Limits(context.Background())
	interval := time.Duration(float64(time.Second) / rps)
	if s.tat > s.now {
		s.at(s.tat-s.now, func() { s.token(f, true) })
		return
	}
	s.tat = s.now + interval
	s.slot(f, waited)
}

func (s *sim) slot(f *Fleet, rateBound bool) {
	_, limit, _ := f.Limits(context.Background())
	// The in-flight acquire script reads the fleet's learned limit from
	// Redis too, so a decrease holds back every worker at once.
	if st, ok, _ := s.store.Load(context.Background()); ok {
		limit = min(limit, st.InFlight)
	}
	if s.inFlight >= limit {
		w := &simWaiter{}
		w.fn = func() {
			if !w.done {
				w.done = true
				s.slot(f, rateBound)
			}
		}
		s.waiters = append(s.waiters, w)
		s.at(100*time.Millisecond, w.fn) // the poll, for a limit that grows
		return
	}
	s.inFlight++
	ev := Event{Sent: s.clock(), InFlight: s.inFlight, RateBound: rateBound}
	s.calls++
	ok := s.vendor.admit(s.now)
	d := 5 * time.Millisecond
	if ok {
		d = s.vendor.latMin + time.Duration(s.rnd.Int64N(int64(s.vendor.latMax-s.vendor.latMin)+1))
	}
	s.at(d, func() {
		s.inFlight--
		if ok {
			s.vendor.busy--
		}
		sec := int(s.now / time.Second)
		for len(s.okPerSec) <= sec {
			s.okPerSec, s.thrPerSec = append(s.okPerSec, 0), append(s.thrPerSec, 0)
		}
		if ok {
			s.okPerSec[sec]++
		} else {
			s.thrPerSec[sec]++
			s.throttles++
		}
		ev.Done, ev.Throttled = s.clock(), !ok
		_ = f.Observe(context.Background(), ev)
		// A freed slot goes to the longest waiter at once (this process's
		// local wake-up; other processes' pollers are modelled by the poll).
		for len(s.waiters) > 0 {
			w := s.waiters[0]
			s.waiters = s.waiters[1:]
			if !w.done {
				s.at(0, w.fn)
				break
			}
		}
		s.at(0, func() { s.call(f) })
	})
}

func (s *sim) runUntil(end time.Duration) {
	for len(s.events) > 0 && s.events[0].at <= end {
		e := heap.Pop(&s.events).(simEvent)
		s.now = e.at
		e.fn()
	}
	s.now = end
	st := s.fleets[0].State()
	s.learned = append(s.learned, fmt.Sprintf("t=%v rps=%.1f inflight=%d mode=%s", end, st.RPS, st.InFlight, st.Mode))
}

// rate is the successes per second over [from, to) seconds.
func (s *sim) rate(from, to int) float64 {
	n := 0
	for i := from; i < to && i < len(s.okPerSec); i++ {
		n += s.okPerSec[i]
	}
	return float64(n) / float64(to-from)
}
