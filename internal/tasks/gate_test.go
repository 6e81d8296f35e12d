package tasks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// outcomeGate records what the handler reports after each call, and can
// refuse calls as a used-up budget does.
type outcomeGate struct {
	recordingGate
	budgetLeft int // calls the budget still allows; < 0: no budget
	outcomes   []error
	haltUntil  time.Time
}

func (g *outcomeGate) Acquire(context.Context) (func(error), time.Duration, error) {
	if g.budgetLeft == 0 {
		return nil, 0, &ocrerr.Error{Code: ocrerr.BudgetExhausted, Halt: true, RetryAfter: 2 * time.Hour, Message: "budget used up"}
	}
	g.budgetLeft--
	return func(err error) { g.outcomes = append(g.outcomes, err) }, 0, nil
}

func (g *outcomeGate) Halt(ctx context.Context, code string, until time.Time) error {
	g.haltUntil = until
	return g.recordingGate.Halt(ctx, code, until)
}

// callBooks counts the vendor calls recorded per batch.
type callBooks struct {
	fakeBatches
	calls map[string]int64
}

func (b *callBooks) Spent(_ context.Context, id, vendor string, _, calls int64) error {
	b.calls[id+" "+vendor] += calls
	return nil
}

// The gate hears every call's outcome, classified: a throttle as a
// throttle (so it can learn from it), then the success; the batch counts
// both calls.
func TestGateHearsEachCallsOutcome(t *testing.T) {
	f := newFixture(t, ocrerr.Throttled("0025", 400, 0))
	g := &outcomeGate{budgetLeft: -1}
	f.h.Vendors["v"].Gate = g
	books := &callBooks{calls: map[string]int64{}}
	f.h.Batches = books
	task := receiptTask
	task.Batch = "b1"
	if err := f.run(t, task, 0, 0); err != nil {
		t.Fatal(err)
	}
	if books.calls["b1 v"] != 2 {
		t.Errorf("batch counted %v calls, want 2 to v (the throttled one included)", books.calls)
	}
	if len(g.outcomes) != 2 {
		t.Fatalf("outcomes %v, want a throttle then a success", g.outcomes)
	}
	if e, ok := ocrerr.As(g.outcomes[0]); !ok || !e.Throttle {
		t.Errorf("first outcome %v, want the throttle", g.outcomes[0])
	}
	if g.outcomes[1] != nil {
		t.Errorf("second outcome %v, want success", g.outcomes[1])
	}
}

// A used-up budget halts the vendor until the next period, like a used-up
// quota: the task waits (requeued, no failure, no result, no call).
func TestBudgetUsedUpHaltsLikeAQuota(t *testing.T) {
	f := newFixture(t)
	g := &outcomeGate{budgetLeft: 0}
	f.h.Vendors["v"].Gate = g
	err := f.run(t, receiptTask, 0, 0)
	if err == nil || IsFailure(err) {
		t.Fatalf("got %v, want a requeue that is not a failure", err)
	}
	if len(g.halted) != 1 || g.halted[0] != "budget_exhausted" {
		t.Fatalf("halts %v, want budget_exhausted", g.halted)
	}
	if d := time.Until(g.haltUntil); d < 119*time.Minute || d > 2*time.Hour {
		t.Errorf("halted for %v, want until the next period (2h)", d)
	}
	if f.vendor.calls != 0 {
		t.Errorf("%d vendor calls past the budget", f.vendor.calls)
	}
	if _, err := f.store.Bucket("out").Head(t.Context(), "r/docs/a.png.json"); !errors.Is(err, storage.ErrNotFound) {
		t.Error("a task waiting for the budget must not get a result")
	}
	if d := RetryDelay(0, err, nil); d < time.Minute {
		t.Errorf("requeued for %v, want the vendor's haltFor", d)
	}
}
