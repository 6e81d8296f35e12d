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
	AddTotal(ctx context.Context, id string, n int64) error
	AddSkipped(ctx context.Context, id string, n int64) error
	AddOutput(ctx context.Context, id, sourceRoot, out string) error
	AddSkippedSources(ctx context.Context, id string, sources []string) error
	Seal(ctx context.Context, id string) (bool, error)
	Finish(ctx context.Context, id, source, status, code string) (bool, error)
	AddCalls(ctx context.Context, id, vendor string, n int64) error
	Get(ctx context.Context, id string) (batch.Status, error)
	Summary(ctx context.Context, id string) ([]byte, error)
	WriteSummary(ctx context.Context, out storage.Bucket, outKey, id string) error
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
	done, err := b.Tracker.Finish(ctx, id, source, status, code)
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
