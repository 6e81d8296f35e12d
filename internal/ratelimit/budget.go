package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	_ "time/tzdata" // budget.timezone must resolve on machines without a zoneinfo database

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// BudgetSpec is a vendor's call budget (vendors.<name>.budget): at most
// Calls vendor calls per day or month, the period starting at midnight in
// Location (default UTC).
type BudgetSpec struct {
	Calls    int64
	Per      string // "day" or "month"
	Location *time.Location
}

// ParseBudget validates the config values of a budget. per and timezone may
// be empty (per is then required only if calls is set: an unset budget is
// calls == 0 and returns ok == false).
func ParseBudget(calls int64, per, timezone string) (spec BudgetSpec, ok bool, err error) {
	if calls == 0 && per == "" && timezone == "" {
		return BudgetSpec{}, false, nil
	}
	if calls <= 0 {
		return BudgetSpec{}, false, fmt.Errorf("budget.calls must be a positive number of vendor calls, got %d", calls)
	}
	switch per {
	case "day", "month":
	case "":
		return BudgetSpec{}, false, errors.New("budget.per is required: day or month")
	default:
		return BudgetSpec{}, false, fmt.Errorf("budget.per must be day or month, got %q", per)
	}
	loc := time.UTC
	if timezone != "" {
		if loc, err = time.LoadLocation(timezone); err != nil {
			return BudgetSpec{}, false, fmt.Errorf("budget.timezone %q is no IANA time zone (such as Asia/Seoul): %v", timezone, err)
		}
	}
	return BudgetSpec{Calls: calls, Per: per, Location: loc}, true, nil
}

// Period returns the budget period that holds t: [start, end).
func (s BudgetSpec) Period(t time.Time) (start, end time.Time) {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	if s.Per == "month" {
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 1, 0)
	}
	start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 0, 1)
}

// Budget counts one vendor's calls of the current period across every
// worker: one Redis counter per vendor per period, named by the period's
// start in the budget's time zone and expiring a day after the period ends
// (so a status read just after midnight still finds yesterday's count).
type Budget struct {
	rdb    redis.UniversalClient
	vendor string
	spec   BudgetSpec
	now    func() time.Time
	prefix string
}

// NewBudget returns vendor's budget counter. now is the clock that decides
// the period (nil: time.Now); of opts, WithKeyPrefix applies.
func NewBudget(rdb redis.UniversalClient, vendor string, spec BudgetSpec, now func() time.Time, opts ...Option) *Budget {
	if now == nil {
		now = time.Now
	}
	return &Budget{rdb: rdb, vendor: vendor, spec: spec, now: now, prefix: buildOptions(opts).prefix}
}

// BudgetStatus is a budget's state in the current period.
type BudgetStatus struct {
	Calls       int64 // the budget
	Used        int64 // calls counted so far this period
	Left        int64 // Calls - Used, never below 0
	PeriodStart time.Time
	PeriodEnd   time.Time // the budget is whole again from then on
}

// UsedUp reports whether no call is left this period.
func (s BudgetStatus) UsedUp() bool { return s.Left <= 0 }

func (b *Budget) key(start time.Time) string {
	return b.prefix + "rl:{" + b.vendor + "}:budget:" + start.Format("2006-01-02")
}

// CountsAgainstBudget reports whether a vendor call that ended with callErr counts
// against the budget: every call the vendor answered, except its throttle
// and quota refusals. A call that got no answer (network error, timeout:
// no HTTP status) is not counted.
func CountsAgainstBudget(callErr error) bool {
	if callErr == nil {
		return true
	}
	e, ok := ocrerr.As(callErr)
	if !ok {
		return false
	}
	return !e.Throttle && e.Code != ocrerr.QuotaExhausted && e.HTTPStatus != 0
}

// Record counts n calls the vendor answered (see [CountsAgainstBudget]) and returns the
// status after them.
func (b *Budget) Record(ctx context.Context, n int64) (BudgetStatus, error) {
	start, end := b.spec.Period(b.now())
	key := b.key(start)
	var incr *redis.IntCmd
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.IncrBy(ctx, key, n)
		p.PExpireAt(ctx, key, end.Add(24*time.Hour))
		return nil
	})
	if err != nil {
		return BudgetStatus{}, fmt.Errorf("ratelimit: %s: count budget: %w", b.vendor, err)
	}
	return b.status(incr.Val(), start, end), nil
}

// Status reads the current period's count.
func (b *Budget) Status(ctx context.Context) (BudgetStatus, error) {
	start, end := b.spec.Period(b.now())
	v, err := b.rdb.Get(ctx, b.key(start)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return BudgetStatus{}, fmt.Errorf("ratelimit: %s: read budget: %w", b.vendor, err)
	}
	used, _ := strconv.ParseInt(v, 10, 64) // missing key: 0
	return b.status(used, start, end), nil
}

// Left is the number of calls left this period.
func (b *Budget) Left(ctx context.Context) (int64, error) {
	st, err := b.Status(ctx)
	return st.Left, err
}

// UsedUp reports whether the budget is used up and, if so, when the next
// period lifts it (the time to halt the vendor until).
func (b *Budget) UsedUp(ctx context.Context) (bool, time.Time, error) {
	st, err := b.Status(ctx)
	if err != nil {
		return false, time.Time{}, err
	}
	return st.UsedUp(), st.PeriodEnd, nil
}

func (b *Budget) status(used int64, start, end time.Time) BudgetStatus {
	return BudgetStatus{Calls: b.spec.Calls, Used: used, Left: max(0, b.spec.Calls-used), PeriodStart: start, PeriodEnd: end}
}
