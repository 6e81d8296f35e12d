package producer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

// ScanHandler runs TypeScan tasks in a worker: it pages through a prefix
// and enqueues every object without a current result, exactly as
// `producer enqueue s3://b/prefix/` would, so a scheduled backfill of
// millions of objects needs no producer process at all.
type ScanHandler struct {
	Enqueuer *Enqueuer
}

// ProcessTask implements asynq.Handler.
func (h *ScanHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var s tasks.Scan
	if err := json.Unmarshal(t.Payload(), &s); err != nil || s.V != tasks.PayloadVersion {
		return fmt.Errorf("%w: unreadable scan payload (version %d): %v", asynq.SkipRetry, s.V, err)
	}
	if s.Batch != "" {
		if err := batch.CheckID(s.Batch); err != nil {
			// No task of it could be counted: archive the scan, enqueue nothing.
			return fmt.Errorf("%w: scan payload: %v", asynq.SkipRetry, err)
		}
	}
	o := Options{Defaults: Defaults{Type: s.Type, Vendor: s.Vendor, Out: s.Out, Batch: s.Batch}, Queue: s.Queue}
	sum, err := h.Enqueuer.Run(ctx, []string{s.Source}, o)
	if err != nil {
		// The error is logged and kept as asynq's last error: no key in it.
		return fmt.Errorf("backfill scan: %w", ocrerr.Redact(err))
	}
	h.Enqueuer.Log.Info().Int64("enqueued", sum.Enqueued).Int64("skipped", sum.Skipped).
		Str("batch", s.Batch).Str("queue", s.Queue).Msg("backfill scan done")
	return nil
}
