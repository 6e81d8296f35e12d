package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ocrbatch/ocrworker/internal/layout"
)

// Emitter turns events into delivery tasks. Call it from a task handler:
// deliveries go to that task's queue. A nil *Emitter, or one without
// receivers for an event, does nothing.
type Emitter struct{ d Deps }

// NewEmitter returns an Emitter on d.
func NewEmitter(d Deps) *Emitter { return &Emitter{d: d.withDefaults()} }

// BatchCompleted enqueues one batch.completed delivery per subscribed
// receiver. The delivery ID follows from the batch and its counts, so
// reporting the same completion twice sends it once.
func (e *Emitter) BatchCompleted(ctx context.Context, s BatchSummary) error {
	if e == nil {
		return nil
	}
	if err := layout.CheckBatchID(s.Batch); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	counts := fmt.Sprintf("%d/%d/%d/%d", s.Total, s.Succeeded, s.Failed, s.Skipped)
	for _, r := range e.d.subscribers(EventBatchCompleted) {
		id := deliveryID(EventBatchCompleted, s.Batch, counts, r.ID())
		if err := e.deliver(ctx, r, EventBatchCompleted, id, s.Batch, s); err != nil {
			return err
		}
	}
	return nil
}

// VendorHalted enqueues one vendor.halted delivery per subscribed receiver;
// reason is a short code (quota_exhausted, vendor_auth, operator). Workers
// that notice the same halt within a minute send it once.
func (e *Emitter) VendorHalted(ctx context.Context, vendor, reason string) error {
	if e == nil {
		return nil
	}
	minute := strconv.FormatInt(e.d.Now().Unix()/60, 10)
	for _, r := range e.d.subscribers(EventVendorHalted) {
		id := deliveryID(EventVendorHalted, vendor, reason, minute, r.ID())
		if err := e.deliver(ctx, r, EventVendorHalted, id, "", VendorHalt{Vendor: vendor, Reason: reason}); err != nil {
			return err
		}
	}
	return nil
}

func (e *Emitter) deliver(ctx context.Context, r Receiver, event, id, batchID string, data any) error {
	t, err := newDeliveryTask(r, event, id, batchID, data, e.d.Now(), queueOf(ctx))
	if err != nil {
		return err
	}
	if err := e.d.enqueue(ctx, t); err != nil {
		return fmt.Errorf("notify: enqueue %s for receiver %s: %w", event, r.ID(), err)
	}
	return nil
}

// DocumentFailed records one failed source of a batch for the batch's next
// document.failed delivery: at most one per batch per minute, listing the
// failures since the previous one. sourceURI is the user's own key: it goes
// into the body for the user's receiver, never into logs or errors.
func (e *Emitter) DocumentFailed(ctx context.Context, batchID, sourceURI, code string) error {
	if e == nil || len(e.d.subscribers(EventDocumentFailed)) == 0 {
		return nil
	}
	if err := layout.CheckBatchID(batchID); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	entry, err := json.Marshal(Failure{Source: sourceURI, Code: code})
	if err != nil {
		return fmt.Errorf("notify: document.failed entry: %w", err)
	}
	kept, err := pushFailure(ctx, e.d.Redis, batchID, entry, e.d.MaxFailuresPerDelivery)
	if err != nil {
		return err
	}
	if !kept {
		e.d.Metrics.droppedFailure()
	}
	minute := e.d.Now().Unix() / 60
	t, err := newFlushTask(batchID, minute, queueOf(ctx))
	if err != nil {
		return err
	}
	if err := e.d.enqueue(ctx, t); err != nil {
		return fmt.Errorf("notify: enqueue document.failed flush of batch %s: %w", batchID, err)
	}
	return nil
}
