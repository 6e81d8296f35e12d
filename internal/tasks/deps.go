package tasks

import (
	"context"
	"time"
)

// Gate is the per-vendor-account admission a call must pass: the shared
// rate limit, the per-process concurrency cap, the fleet-wide cap on calls
// in flight, the learned limits, the call budget and a vendor-wide halt
// (quota or budget used up, credentials rejected). Implemented by
// internal/ratelimit (VendorGate).
type Gate interface {
	// Acquire waits for a call slot until ctx ends. done must be called
	// once when the call is over, with its outcome (nil, or the classified
	// *ocrerr.Error): the gate learns from it and counts it. An error means
	// no slot: the task is handed back to the queue without counting a
	// failure; an *ocrerr.Error with Halt set (budget_exhausted) also halts
	// the vendor until now + its RetryAfter, as a used-up quota does.
	Acquire(ctx context.Context) (done func(callErr error), waited time.Duration, err error)
	// Throttled tells every worker that the vendor throttled us: slow down,
	// and wait at least retryAfter (0 when the vendor did not say).
	Throttled(ctx context.Context, retryAfter time.Duration)
	// Halt stops calls to this vendor from every worker until resumed or until.
	Halt(ctx context.Context, code string, until time.Time) error
	// Halted reports whether calls are halted, and until when (zero: until
	// resumed). Read before any work, so a halted vendor costs its tasks
	// one Redis read, not a download each.
	Halted(ctx context.Context) (until time.Time, halted bool)
}

// Metrics is what the handler reports; implemented by internal/metrics.
// Every label value is a bounded enum: never an object key or personal data.
type Metrics interface {
	VendorCall(vendor, endpoint, outcome string, d time.Duration)
	Result(docType, status, code string)
	BytesFetched(n int64)
	// Pages counts pages read (label: the document type only).
	Pages(docType string, n int)
}

type noMetrics struct{}

func (noMetrics) VendorCall(string, string, string, time.Duration) {}
func (noMetrics) Result(string, string, string)                    {}
func (noMetrics) BytesFetched(int64)                               {}
func (noMetrics) Pages(string, int)                                {}

// openGate admits every call: for vendors without a configured limit in
// unit tests.
type openGate struct{}

func (openGate) Acquire(context.Context) (func(error), time.Duration, error) {
	return func(error) {}, 0, nil
}
func (openGate) Throttled(context.Context, time.Duration)      {}
func (openGate) Halt(context.Context, string, time.Time) error { return nil }
func (openGate) Halted(context.Context) (time.Time, bool)      { return time.Time{}, false }
