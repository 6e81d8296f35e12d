package ratelimit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// budgetClock is a hand-moved clock for budget periods.
type budgetClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *budgetClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *budgetClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func mustBudget(t *testing.T, calls int64, per, tz string) BudgetSpec {
	t.Helper()
	s, ok, err := ParseBudget(calls, per, tz)
	if err != nil || !ok {
		t.Fatalf("ParseBudget(%d, %q, %q) = %v, %v", calls, per, tz, ok, err)
	}
	return s
}

func TestParseBudget(t *testing.T) {
	if _, ok, err := ParseBudget(0, "", ""); ok || err != nil {
		t.Fatalf("no budget: ok %v err %v, want none and no error", ok, err)
	}
	s := mustBudget(t, 100, "month", "")
	if s.Location != time.UTC {
		t.Fatalf("default time zone %v, want UTC", s.Location)
	}
	for _, c := range []struct {
		calls   int64
		per, tz string
		want    string
	}{
		{-1, "day", "", "budget.calls must be a positive"},
		{0, "day", "", "budget.calls must be a positive"},
		{10, "", "", "budget.per is required"},
		{10, "week", "", `budget.per must be day or month, got "week"`},
		{10, "day", "Mars/Olympus", `budget.timezone "Mars/Olympus" is no IANA time zone`},
	} {
		_, _, err := ParseBudget(c.calls, c.per, c.tz)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseBudget(%d, %q, %q) = %v, want %q", c.calls, c.per, c.tz, err, c.want)
		}
	}
}

// Several workers count into one budget; at the budget it is used up.
func TestBudgetCountsAcrossWorkers(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	clk := &budgetClock{t: time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)}
	spec := mustBudget(t, 50, "month", "")
	var wg sync.WaitGroup
	for w := 0; w < 5; w++ {
		b := NewBudget(newClient(t), "clova", spec, clk.now, p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := b.Record(ctx, 1); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	b := NewBudget(newClient(t), "clova", spec, clk.now, p)
	st, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Used != 50 || st.Left != 0 || !st.UsedUp() {
		t.Fatalf("status %+v, want 50 used, 0 left, used up", st)
	}
	up, until, err := b.UsedUp(ctx)
	if err != nil || !up || !until.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("UsedUp = %v until %v (%v), want true until 2027-01-01", up, until, err)
	}
	// Over the budget Left stays 0; Used tells by how much.
	st, err = b.Record(ctx, 3)
	if err != nil || st.Left != 0 || st.Used != 53 {
		t.Fatalf("over budget: %+v (%v)", st, err)
	}
}

// A daily budget in Asia/Seoul starts again at midnight in Seoul (15:00
// UTC), not at midnight UTC; its Redis key expires after its period.
func TestBudgetDayRollsOverInSeoul(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	spec := mustBudget(t, 3, "day", "Asia/Seoul")
	clk := &budgetClock{t: time.Date(2026, 12, 31, 14, 59, 0, 0, time.UTC)} // 23:59 in Seoul
	c := newClient(t)
	b := NewBudget(c, "nhn", spec, clk.now, p)
	for i := 0; i < 3; i++ {
		if _, err := b.Record(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	up, until, err := b.UsedUp(ctx)
	if err != nil || !up || !until.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, seoul)) {
		t.Fatalf("at 23:59 Seoul: used up %v until %v (%v), want true until Seoul midnight", up, until, err)
	}
	exp, err := c.PExpireTime(ctx, b.key(time.Date(2026, 12, 31, 0, 0, 0, 0, seoul))).Result()
	if want := time.Date(2027, 1, 2, 0, 0, 0, 0, seoul); err != nil || exp != time.Duration(want.UnixMilli())*time.Millisecond {
		t.Fatalf("key expires at %v (%v), want a day after the period: %v", time.UnixMilli(exp.Milliseconds()), err, want)
	}

	clk.set(time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC)) // 00:00 on Jan 1 in Seoul
	if left, err := b.Left(ctx); err != nil || left != 3 {
		t.Fatalf("after Seoul midnight: %d left (%v), want the whole budget 3", left, err)
	}
	st, err := b.Record(ctx, 1)
	if err != nil || st.Used != 1 || !st.PeriodStart.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, seoul)) {
		t.Fatalf("new day: %+v (%v)", st, err)
	}
}

func TestBudgetMonthPeriodInTimezone(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	spec := mustBudget(t, 1, "month", "Asia/Seoul")
	// 2027-01-31 20:00 UTC is already February 1st in Seoul.
	start, end := spec.Period(time.Date(2027, 1, 31, 20, 0, 0, 0, time.UTC))
	if !start.Equal(time.Date(2027, 2, 1, 0, 0, 0, 0, seoul)) || !end.Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, seoul)) {
		t.Fatalf("period [%v, %v)", start, end)
	}
}

func TestCountsAgainstBudget(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"success", nil, true},
		{"recognition failed", ocrerr.Permanent(ocrerr.RecognitionFailed, "x").WithVendor("", 200), true},
		{"5xx answered", ocrerr.Transient(ocrerr.VendorUnavailable, "x").WithVendor("", 503), true},
		{"throttled", ocrerr.Throttled("0025", 400, 0), false},
		{"quota", (&ocrerr.Error{Code: ocrerr.QuotaExhausted, Halt: true}).WithVendor("0027", 400), false},
		{"no answer", ocrerr.Transient(ocrerr.VendorUnavailable, "timeout"), false},
		{"unclassified", errors.New("boom"), false},
	} {
		if got := CountsAgainstBudget(c.err); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
