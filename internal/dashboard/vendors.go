package dashboard

// Each vendor account's shared state, as every worker sees it in Redis
// (ratelimit.Limiter.State): halted and why, the rate in force after
// adaptive throttling, the vendor's Retry-After wait. Throttle counts and
// the budget left are not kept in Redis yet; the panel has a marked slot
// for each.

import (
	"context"
	"fmt"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

// vendorView is a configured vendor account and a limiter to read its state.
type vendorView struct {
	VendorLimit
	lim *ratelimit.Limiter
}

// vendorState is one vendor row of the panel.
type vendorState struct {
	Name       string
	Halted     bool
	Reason     string // result-v1 code ("operator" for producer halt)
	Since      time.Time
	Until      time.Time // zero: until resumed
	RateLimit  string    // configured
	InForce    string    // learned: the rate after adaptive decreases
	Reduced    bool      // InForce below the configured rate
	RetryAfter string    // "" when none
	Err        string    // Redis could not be read
}

func (p *batchPages) vendor(name string) *vendorView {
	for i := range p.vendors {
		if p.vendors[i].Name == name {
			return &p.vendors[i]
		}
	}
	return nil
}

func (p *batchPages) vendorStates(ctx context.Context) []vendorState {
	out := make([]vendorState, 0, len(p.vendors))
	for _, v := range p.vendors {
		vs := vendorState{Name: v.Name, RateLimit: fmt.Sprintf("%g rps, burst %d", v.RPS, v.Burst)}
		st, err := v.lim.State(ctx)
		if err != nil {
			vs.Err = "Redis: state cannot be read"
			out = append(out, vs)
			continue
		}
		if h := st.Halt; h != nil {
			vs.Halted, vs.Reason, vs.Since, vs.Until = true, string(h.Reason), h.Since, h.Until
		}
		vs.InForce = fmt.Sprintf("%.3g rps (%.0f%%), burst %d", st.EffectiveRPS, 100*st.Factor, st.Burst)
		vs.Reduced = st.Factor < 1
		if st.RetryAfter > 0 {
			vs.RetryAfter = st.RetryAfter.Round(time.Second).String()
		}
		out = append(out, vs)
	}
	return out
}

// resumeVendor lifts the halt as `producer resume` does: the halt and the
// shared Retry-After wait go, and tasks that met the halt (waiting in
// asynq's retry sets until its end) run now. It returns how many were woken.
func (p *batchPages) resumeVendor(ctx context.Context, name string) (int, error) {
	if _, err := p.gate.Resume(ctx, name); err != nil {
		return 0, err
	}
	return tasks.RunWaiting(p.insp) // the tasks that met the halt run now
}
