package adapt

import (
	"context"
	"sync"
	"time"
)

// DefaultSyncEvery is how stale a worker's copy of the learned limits may
// get, and how long its successes wait to be counted in the shared state.
const DefaultSyncEvery = 100 * time.Millisecond

// Fleet is one worker process's view of the learned limits of one vendor
// account. It buffers the outcomes of the process's calls and folds them
// into the shared State at most every syncEvery, at once for a throttle
// (which must slow every worker down now). A new process starts at the
// fleet's current estimate, since that is what the Store holds.
type Fleet struct {
	ctrl      *Controller
	store     Store
	now       func() time.Time
	syncEvery time.Duration

	syncMu   sync.Mutex // one Sync at a time
	mu       sync.Mutex
	cur      State
	have     bool
	pending  []Event
	lastSync time.Time

	// OnSync, if set, is called with the state after every sync (metrics).
	OnSync func(State)
}

// NewFleet returns a worker's view over store. now is the clock (nil:
// time.Now); syncEvery <= 0 means DefaultSyncEvery.
func NewFleet(ctrl *Controller, store Store, now func() time.Time, syncEvery time.Duration) *Fleet {
	if now == nil {
		now = time.Now
	}
	if syncEvery <= 0 {
		syncEvery = DefaultSyncEvery
	}
	return &Fleet{ctrl: ctrl, store: store, now: now, syncEvery: syncEvery}
}

// Limits returns the limits to enforce now: the learned rate (calls/s) and
// calls in flight. It reads the shared state when its copy is stale.
func (f *Fleet) Limits(ctx context.Context) (rps float64, inFlight int, err error) {
	f.mu.Lock()
	stale := !f.have || f.now().Sub(f.lastSync) >= f.syncEvery
	f.mu.Unlock()
	if stale {
		err = f.Sync(ctx)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.have {
		s := f.ctrl.Start(f.now())
		return s.RPS, s.InFlight, err
	}
	rps, inFlight = f.cur.Limits()
	return rps, inFlight, err
}

// State returns this worker's latest copy of the shared state.
func (f *Fleet) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

// Observe records the outcome of one call. A throttle is shared at once;
// other outcomes with the next sync.
func (f *Fleet) Observe(ctx context.Context, ev Event) error {
	f.mu.Lock()
	f.pending = append(f.pending, ev)
	due := ev.Throttled || f.now().Sub(f.lastSync) >= f.syncEvery || len(f.pending) >= 4096
	f.mu.Unlock()
	if due {
		return f.Sync(ctx)
	}
	return nil
}

// Sync folds the buffered outcomes into the shared state and refreshes this
// worker's copy. On a Store error the outcomes are kept for the next try
// (up to a bound: the limits are an estimate, not a ledger).
func (f *Fleet) Sync(ctx context.Context) error {
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	f.mu.Lock()
	evs := f.pending
	f.pending = nil
	f.mu.Unlock()

	now := f.now()
	s, err := f.store.Update(ctx, func() State { return f.ctrl.Start(now) }, func(s *State) {
		for _, ev := range evs {
			f.ctrl.Observe(s, ev, now)
		}
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if len(f.pending)+len(evs) <= 4096 {
			f.pending = append(evs, f.pending...)
		}
		f.lastSync = now // do not hammer a failing Redis; keep the old limits
		return err
	}
	f.cur, f.have, f.lastSync = s, true, now
	if f.OnSync != nil {
		f.OnSync(s)
	}
	return nil
}
