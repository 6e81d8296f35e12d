package setup

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/notify"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

// NotifyDeps are the webhook dependencies of a process (the config's
// notify: receivers); m may be nil (no metrics).
func NotifyDeps(c *config.Config, rdb redis.UniversalClient, client *asynq.Client, m *notify.Metrics) notify.Deps {
	return notify.Deps{Receivers: c.Notify, Client: client, Redis: rdb, Metrics: m}
}

// Tracker is the batch tracker as the worker and the producer use it
// (a *batch.Tracker with its summary): what NotifyingBatches wraps.
type Tracker interface {
	Register(ctx context.Context, id string, c batch.Chunk) (fresh []bool, done bool, err error)
	Unregister(ctx context.Context, id string, sources []string) (bool, error)
	BeginStep(ctx context.Context, id, scan string, step int64) (batch.Step, error)
	InFlight(ctx context.Context, id string) (int64, error)
	StillInFlight(ctx context.Context, id string, sources []string) ([]bool, error)
	FinishReplacing(ctx context.Context, id, source, status, code, replaced string) (bool, error)
	SpillFailures(ctx context.Context, out storage.Bucket, outKey, id string) error
	AddSkipped(ctx context.Context, id string, n int64) error
	AddOutput(ctx context.Context, id, sourceRoot, out string) error
	AddSkippedSources(ctx context.Context, id string, sources []string) error
	Seal(ctx context.Context, id string) (bool, error)
	Finish(ctx context.Context, id, source, status, code string) (bool, error)
	Get(ctx context.Context, id string) (batch.Status, error)
	Summary(ctx context.Context, id string) ([]byte, error)
	WriteSummary(ctx context.Context, out storage.Bucket, outKey, id string) error
	Spent(ctx context.Context, id, vendor string, pages, calls int64) error
}

// NotifyingBatches are a Tracker that emits the batch events where the batch
// learns them: document.failed for each failed source counted (coalesced
// per batch per minute by notify), batch.completed when Finish or Seal
// reports the batch done (again when a re-run changes its counts). An
// event that cannot be enqueued is logged; the count stands.
type NotifyingBatches struct {
	Tracker
	Emitter *notify.Emitter
	Log     zerolog.Logger
	// Queue is where deliveries go when the event is not emitted inside an
	// asynq handler (the producer's Seal): the queue of the enqueue.
	Queue string
}

// Finish counts the outcome, then emits.
func (b NotifyingBatches) Finish(ctx context.Context, id, source, status, code string) (bool, error) {
	return b.FinishReplacing(ctx, id, source, status, code, "")
}

// Register counts a chunk; a scan's last chunk may complete the batch.
func (b NotifyingBatches) Register(ctx context.Context, id string, c batch.Chunk) ([]bool, bool, error) {
	fresh, done, err := b.Tracker.Register(ctx, id, c)
	if err == nil && done {
		b.completed(notify.WithQueue(ctx, b.Queue), id)
	}
	return fresh, done, err
}

// Unregister takes back refused tasks, which may complete the batch.
func (b NotifyingBatches) Unregister(ctx context.Context, id string, sources []string) (bool, error) {
	done, err := b.Tracker.Unregister(ctx, id, sources)
	if err == nil && done {
		b.completed(notify.WithQueue(ctx, b.Queue), id)
	}
	return done, err
}

// FinishReplacing counts the outcome, then emits.
func (b NotifyingBatches) FinishReplacing(ctx context.Context, id, source, status, code, replaced string) (bool, error) {
	done, err := b.Tracker.FinishReplacing(ctx, id, source, status, code, replaced)
	if err != nil {
		return done, err
	}
	if status == batch.StatusFailed {
		if err := b.Emitter.DocumentFailed(ctx, id, source, code); err != nil {
			b.Log.Warn().Err(err).Str("batch", id).Msg("document.failed webhook not queued")
		}
	}
	if done {
		b.completed(ctx, id)
	}
	return done, nil
}

// Seal seals, then emits batch.completed if that completed the batch.
func (b NotifyingBatches) Seal(ctx context.Context, id string) (bool, error) {
	done, err := b.Tracker.Seal(ctx, id)
	if err == nil && done {
		b.completed(notify.WithQueue(ctx, b.Queue), id)
	}
	return done, err
}

func (b NotifyingBatches) completed(ctx context.Context, id string) {
	st, err := b.Get(ctx, id)
	if err == nil {
		err = b.Emitter.BatchCompleted(ctx, notify.SummaryOf(st))
	}
	if err != nil {
		b.Log.Warn().Err(err).Str("batch", id).Msg("batch.completed webhook not queued")
	}
}

// NotifyHalts makes each vendor's gate emit vendor.halted when a worker
// halts the vendor (quota used up, credentials rejected).
func NotifyHalts(vendors map[string]*tasks.Vendor, em *notify.Emitter, log zerolog.Logger) {
	for name, v := range vendors {
		if v.Gate != nil {
			v.Gate = haltNotifier{Gate: v.Gate, vendor: name, em: em, log: log}
		}
	}
}

type haltNotifier struct {
	tasks.Gate
	vendor string
	em     *notify.Emitter
	log    zerolog.Logger
}

func (g haltNotifier) Halt(ctx context.Context, code string, until time.Time) error {
	if err := g.Gate.Halt(ctx, code, until); err != nil {
		return err
	}
	if err := g.em.VendorHalted(ctx, g.vendor, code); err != nil {
		g.log.Warn().Err(err).Str("vendor", g.vendor).Msg("vendor.halted webhook not queued")
	}
	return nil
}
