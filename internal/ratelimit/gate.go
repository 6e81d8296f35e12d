package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// HaltState describes a halted vendor account.
type HaltState struct {
	Vendor string
	Reason ocrerr.Code // why: quota_exhausted, vendor_auth, ...; never a secret
	Since  time.Time   // when the halt began (the dashboard shows it)
	Until  time.Time   // when it resumes by itself; zero: only on Resume
}

// Gate halts and resumes vendor accounts for every worker at once. The halt
// is one Redis hash per vendor whose expiry is the auto-resume time, so a
// halt ends by itself even if no one is left to lift it.
type Gate struct {
	rdb redis.UniversalClient
	o   options
}

// NewGate returns a Gate over rdb. Producers use it for their resume, halt
// and status commands; a [Limiter] halts through its own ([Limiter.Halt]).
func NewGate(rdb redis.UniversalClient, opts ...Option) *Gate {
	return &Gate{rdb: rdb, o: buildOptions(opts)}
}

// Halt stops every worker from calling vendor until `until` (zero: until
// Resume). Halting a halted vendor keeps its start (the "since" field,
// which decides who logs the halt) and moves its Until. reason is a
// result-v1 code, so nothing secret reaches Redis or the logs.
func (g *Gate) Halt(ctx context.Context, vendor string, reason ocrerr.Code, until time.Time) error {
	now := g.o.now()
	if !until.IsZero() && !until.After(now) {
		return nil // already over
	}
	key := haltKey(g.o.prefix, vendor)
	var started *redis.BoolCmd
	_, err := g.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		started = p.HSetNX(ctx, key, "since", now.UnixMilli()) // set: this call started the halt
		p.HSet(ctx, key, "reason", string(reason), "until", unixMilli(until))
		if until.IsZero() {
			p.Persist(ctx, key)
		} else {
			p.PExpireAt(ctx, key, until)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ratelimit: halt %s: %w", vendor, err)
	}
	ev := g.o.log.Debug()
	msg := "vendor halt extended"
	if started.Val() {
		// One clear line per halt, from the worker that started it.
		ev = g.o.log.Warn()
		msg = "vendor halted: no worker calls it until it is resumed"
		g.o.metrics.haltStarted(vendor, string(reason))
	}
	ev.Str("vendor", vendor).Str("reason", string(reason)).Time("until", until).Msg(msg)
	return nil
}

// Resume lifts a halt and the vendor's shared Retry-After wait at once; it
// reports whether vendor was halted. Waiting workers notice within the halt
// poll interval. A halt for a used-up budget is lifted for the rest of the
// budget's period: the calls go on being counted, but no longer halt the
// vendor until the next period.
func (g *Gate) Resume(ctx context.Context, vendor string) (bool, error) {
	st, halted, err := g.Halted(ctx, vendor)
	if err != nil {
		return false, fmt.Errorf("ratelimit: resume %s: %w", vendor, err)
	}
	var halt *redis.IntCmd
	_, err = g.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		halt = p.Del(ctx, haltKey(g.o.prefix, vendor))
		p.Del(ctx, notBeforeKey(g.o.prefix, vendor))
		if halted && st.Reason == ocrerr.BudgetExhausted && !st.Until.IsZero() {
			p.Set(ctx, budgetLiftKey(g.o.prefix, vendor), "1", 0)
			p.PExpireAt(ctx, budgetLiftKey(g.o.prefix, vendor), st.Until)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("ratelimit: resume %s: %w", vendor, err)
	}
	n := halt.Val()
	if n > 0 {
		g.o.log.Info().Str("vendor", vendor).Msg("vendor resumed")
	}
	return n > 0, nil
}

// Halted reports whether vendor is halted, and how.
func (g *Gate) Halted(ctx context.Context, vendor string) (HaltState, bool, error) {
	fields, err := g.rdb.HGetAll(ctx, haltKey(g.o.prefix, vendor)).Result()
	if err != nil {
		return HaltState{}, false, fmt.Errorf("ratelimit: read halt of %s: %w", vendor, err)
	}
	st, ok := parseHalt(vendor, fields, g.o.now())
	return st, ok, nil
}

// parseHalt reads a halt hash; an empty or expired one is no halt.
func parseHalt(vendor string, fields map[string]string, now time.Time) (HaltState, bool) {
	if len(fields) == 0 {
		return HaltState{}, false
	}
	st := HaltState{
		Vendor: vendor,
		Reason: ocrerr.Code(fields["reason"]),
		Since:  fromUnixMilli(fields["since"]),
		Until:  fromUnixMilli(fields["until"]),
	}
	if !st.Until.IsZero() && !st.Until.After(now) {
		return HaltState{}, false // Redis has not expired it yet
	}
	return st, true
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
