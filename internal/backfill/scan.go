// Package backfill is the worker's side of scheduled backfills and windowed
// scans: the Scheduler enqueues a scan task (layout.Scan) for every cron
// slot of every schedule, and the Handler runs scans step by step (see
// producer.ScanStep), enqueueing what has no current result with the
// producer's enqueue library.
package backfill

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// StepBudget is how long one scan step lists and enqueues before it hands
// over to the next step: short steps keep a worker's shutdown quick and
// what a dead worker's step must redo small.
const StepBudget = 15 * time.Second

// stepTimeout is the asynq timeout of a scan step task (one step is short;
// a listing page that hangs must not hold the scan for hours).
const stepTimeout = 5 * time.Minute

// Handler runs TypeScan tasks in a worker: a scan with a batch is windowed
// (at most Window of its tasks queued or running; each step enqueues the
// next), one without lists and enqueues the whole prefix at once, as
// `producer enqueue s3://b/prefix/` would.
type Handler struct {
	Enqueuer *producer.Enqueuer
	Window   int           // worker.scanWindow
	Budget   time.Duration // default StepBudget
	MaxRetry int           // asynq MaxRetry of the next steps
}

// NewHandler is the scan handler of a worker: its enqueues go through
// client, count in batches (may be nil) and check sources in store.
func NewHandler(client *asynq.Client, store storage.Store, cfg *config.Config, batches batch.Books, log zerolog.Logger) *Handler {
	return &Handler{Enqueuer: &producer.Enqueuer{Client: client, Store: store, Config: cfg, Batches: batches, Log: log},
		Window: cfg.Worker.ScanWindow, MaxRetry: cfg.Worker.MaxRetry}
}

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	s, err := layout.DecodeScan(t.Payload())
	if err != nil {
		// Unreadable, or none of its tasks could be counted: archive the
		// scan, enqueue nothing.
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if _, windowed := h.Enqueuer.Batches.(producer.ScanBooks); !windowed || s.Batch == "" {
		sum, err := h.Enqueuer.Scan(ctx, s)
		if err != nil {
			// The error is logged and kept as asynq's last error: no key in it.
			return fmt.Errorf("backfill scan: %w", ocrerr.Redact(err))
		}
		h.Enqueuer.Log.Info().Int64("enqueued", sum.Enqueued).Int64("skipped", sum.Skipped).
			Str("batch", s.Batch).Str("queue", s.Queue).Msg("backfill scan done")
		return nil
	}
	budget := h.Budget
	if budget <= 0 {
		budget = StepBudget
	}
	window := h.Window
	if window <= 0 {
		window = config.WorkerScanWindowDefault
	}
	res, err := h.Enqueuer.ScanStep(ctx, s, window, budget)
	log := h.Enqueuer.Log.Info().Int64("step", s.Step).Int64("listed", res.Listed).Int64("enqueued", res.Enqueued).
		Int64("skipped", res.Skipped).Str("batch", s.Batch).Str("queue", s.Queue)
	if err != nil {
		return fmt.Errorf("scan step %d: %w", s.Step, ocrerr.Redact(err))
	}
	if !res.Next {
		log.Msg("scan step done; no next step")
		h.logEnd(ctx, s)
		return nil
	}
	next := s
	next.Step++
	task, err := layout.NewScanStepTask(next, asynq.Queue(s.Queue), asynq.MaxRetry(max(h.MaxRetry, 1)),
		asynq.Timeout(stepTimeout), asynq.ProcessIn(res.Delay))
	if err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if _, err := h.Enqueuer.Client.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		// Retried: the step resumes from the cursor and enqueues the next again.
		return fmt.Errorf("scan step %d: enqueue the next step: %w", s.Step, err)
	}
	log.Dur("nextIn", res.Delay).Msg("scan step done")
	return nil
}

// logEnd logs a scan's totals once its listing is complete (the batch
// counts them: enqueued = total - skipped).
func (h *Handler) logEnd(ctx context.Context, s layout.Scan) {
	g, ok := h.Enqueuer.Batches.(interface {
		Get(ctx context.Context, id string) (batch.Status, error)
	})
	if !ok {
		return
	}
	st, err := g.Get(ctx, s.Batch)
	if err != nil || st.Listing {
		return // cancelled or stale: no end to log
	}
	h.Enqueuer.Log.Info().Int64("enqueued", st.Total-st.Skipped).Int64("skipped", st.Skipped).Int64("listed", st.Listed).
		Str("batch", s.Batch).Str("queue", s.Queue).Msg("backfill scan done")
}
