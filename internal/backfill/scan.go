// Package backfill is the worker's side of scheduled backfills: the
// Scheduler enqueues a scan task (layout.Scan) for every cron slot of
// every schedule, and the Handler runs those scans, enqueueing what has no
// current result with the producer's enqueue library.
package backfill

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Handler runs TypeScan tasks in a worker: it pages through a prefix and
// enqueues every object without a current result, exactly as
// `producer enqueue s3://b/prefix/` would, so a scheduled backfill of
// millions of objects needs no producer process at all.
type Handler struct {
	Enqueuer *producer.Enqueuer
}

// NewHandler is the scan handler of a worker: its enqueues go through
// client, count in batches (may be nil) and check sources in store.
func NewHandler(client *asynq.Client, store storage.Store, cfg *config.Config, batches batch.Books, log zerolog.Logger) *Handler {
	return &Handler{Enqueuer: &producer.Enqueuer{Client: client, Store: store, Config: cfg, Batches: batches, Log: log}}
}

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	s, err := layout.DecodeScan(t.Payload())
	if err != nil {
		// Unreadable, or none of its tasks could be counted: archive the
		// scan, enqueue nothing.
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	sum, err := h.Enqueuer.Scan(ctx, s)
	if err != nil {
		// The error is logged and kept as asynq's last error: no key in it.
		return fmt.Errorf("backfill scan: %w", ocrerr.Redact(err))
	}
	h.Enqueuer.Log.Info().Int64("enqueued", sum.Enqueued).Int64("skipped", sum.Skipped).
		Str("batch", s.Batch).Str("queue", s.Queue).Msg("backfill scan done")
	return nil
}
