package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/adapt"
	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
)

// budgetLeft reads a vendor's budget of the current period; ok is false if
// it has none.
func (e *env) budgetLeft(ctx context.Context, name string) (st ratelimit.BudgetStatus, per string, ok bool, err error) {
	v := e.cfg.Vendors[name]
	if v == nil {
		return st, "", false, nil
	}
	spec, ok := v.Budget.Spec()
	if !ok {
		return st, "", false, nil
	}
	st, err = ratelimit.NewBudget(e.rdb, name, spec, nil).Status(ctx)
	return st, spec.Per, true, err
}

// printDryRunCost writes the line `producer enqueue --dry-run` adds before
// its final line: what the enqueue would cost each vendor against its
// budget left, e.g.
//
//	vendor calls: clova 120 of 9880 left this month; nhn 3 (no budget)
func printDryRunCost(ctx context.Context, w io.Writer, e *env, calls map[string]int64) error {
	if len(calls) == 0 {
		_, err := fmt.Fprintln(w, "vendor calls: none")
		return err
	}
	var parts []string
	for _, name := range sortedNames(calls) {
		st, per, ok, err := e.budgetLeft(ctx, name)
		switch {
		case err != nil: // a dry run needs no Redis otherwise: say so, do not fail
			parts = append(parts, fmt.Sprintf("%s %d (budget unreadable: %v)", name, calls[name], err))
		case !ok:
			parts = append(parts, fmt.Sprintf("%s %d (no budget)", name, calls[name]))
		default:
			over := ""
			if calls[name] > st.Left {
				over = fmt.Sprintf(", %d over: those wait for the next %s or producer resume", calls[name]-st.Left, per)
			}
			parts = append(parts, fmt.Sprintf("%s %d of %d left this %s%s", name, calls[name], st.Left, per, over))
		}
	}
	_, err := fmt.Fprintln(w, "vendor calls: "+strings.Join(parts, "; ")+" (at least one per document)")
	return err
}

// printVendorLimits writes one line per vendor the batch has called: the
// limits in force (learned ones when adaptive) and its budget left, e.g.
//
//	vendor clova: 412 calls in this batch; learned 19.6 calls/s, 6 in flight (last throttle: rate); budget 9588 of 10000 left this month
func printVendorLimits(ctx context.Context, w io.Writer, e *env, st batch.Status) error {
	for _, name := range sortedNames(st.VendorCalls) {
		v := e.cfg.Vendors[name]
		if v == nil {
			continue // a vendor of another config
		}
		parts := []string{fmt.Sprintf("%d calls in this batch", st.VendorCalls[name])}
		parts = append(parts, limitsText(ctx, e, name, v))
		b, per, ok, err := e.budgetLeft(ctx, name)
		if err != nil {
			return err
		}
		if ok {
			parts = append(parts, fmt.Sprintf("budget %d of %d left this %s (whole again %s)", b.Left, b.Calls, per,
				b.PeriodEnd.Format(time.RFC3339)))
		}
		if _, err := fmt.Fprintf(w, "vendor %s: %s\n", name, strings.Join(parts, "; ")); err != nil {
			return err
		}
	}
	return nil
}

func limitsText(ctx context.Context, e *env, name string, v *config.Vendor) string {
	rl := v.RateLimit
	if !rl.IsAdaptive() {
		if rl.RPS == 0 && rl.Concurrent == 0 {
			return "unlimited (adaptive: false)"
		}
		return "exact limits: " + configured(rl)
	}
	s, ok, err := ratelimit.Learned(ctx, e.rdb, name)
	switch {
	case err != nil:
		return "learned limits unreadable: " + err.Error()
	case !ok:
		return "adaptive, nothing learned yet"
	}
	return learnedText(s, rl)
}

func learnedText(s adapt.State, rl config.RateLimit) string {
	out := fmt.Sprintf("learned %.1f calls/s, %d in flight", s.RPS, s.InFlight)
	switch {
	case s.SlowStart:
		out += " (still searching)"
	case s.Mode != "":
		out += " (last throttle: " + s.Mode + ")"
	}
	if rl.RPS > 0 || rl.Concurrent > 0 {
		out += ", ceilings " + configured(rl)
	}
	return out
}

func configured(rl config.RateLimit) string {
	var p []string
	if rl.RPS > 0 {
		p = append(p, fmt.Sprintf("%g calls/s (burst %d)", rl.RPS, rl.Burst))
	}
	if rl.Concurrent > 0 {
		p = append(p, fmt.Sprintf("%d in flight", rl.Concurrent))
	}
	return strings.Join(p, ", ")
}

func sortedNames(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
