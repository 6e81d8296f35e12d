package backfill

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// slotRetention keeps a finished scan task's ID for this long, so a
// scheduler replica whose clock lags cannot enqueue the same slot again
// after the first replica's scan already finished.
const slotRetention = 25 * time.Hour

// scanTimeout bounds one scan run. asynq's default (30m) is too short for a
// prefix of millions of objects; a crashed worker's scan is recovered by
// asynq's lease, not this timeout, and a retried scan redoes only what is
// still missing (enqueued tasks conflict, finished ones are skipped).
const scanTimeout = 12 * time.Hour

// Scheduler enqueues a scan task for every cron slot of every schedule.
// Each slot has its own deterministic task ID, so any number of replicas
// enqueue it once: the others get a task-ID conflict. (asynq's own
// Scheduler enqueues the same task ID every time, which cannot tell one
// slot from the next once a scan has finished.)
type Scheduler struct {
	Client    *asynq.Client
	Schedules []config.Schedule
	Log       zerolog.Logger
	MaxRetry  int
	// Now is the scheduler's clock (default time.Now): slots are computed
	// and waited for on it, so a test can place a slot just ahead.
	Now func() time.Time

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start validates every cron expression, then runs until Shutdown.
func (s *Scheduler) Start() error {
	parsed := make([]cron.Schedule, len(s.Schedules))
	for i, sc := range s.Schedules {
		p, err := cron.ParseStandard(sc.Cron)
		if err != nil {
			return fmt.Errorf("config: schedules[%d].cron: %v", i, err)
		}
		parsed[i] = p
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for i := range s.Schedules {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.loop(ctx, s.Schedules[i], parsed[i])
		}()
	}
	return nil
}

// Shutdown stops the scheduler.
func (s *Scheduler) Shutdown() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) loop(ctx context.Context, sc config.Schedule, p cron.Schedule) {
	var last time.Time
	for {
		// The wait is measured on the same clock as the slot (s.now), so a
		// test clock works; starting from the last slot fired means a timer
		// that wakes a hair early cannot fire that slot twice.
		now := s.now()
		from := now
		if from.Before(last) {
			from = last
		}
		next := p.Next(from)
		if next.IsZero() {
			return // the expression has no future slot
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		last = next
		if err := s.EnqueueSlot(ctx, sc, next); err != nil {
			s.Log.Error().Err(ocrerr.Redact(err)).Str("schedule", sc.Name).Time("slot", next).Msg("backfill slot not enqueued")
		}
	}
}

// EnqueueSlot enqueues the scan of one schedule slot (once across replicas).
func (s *Scheduler) EnqueueSlot(ctx context.Context, sc config.Schedule, slot time.Time) error {
	batch := config.ScheduleBatch(sc.Name, slot)
	task, err := layout.NewScanTask(layout.Scan{Source: sc.Source, Type: sc.Type, Vendor: sc.Vendor, Out: sc.Out,
		Queue: sc.Queue, Batch: batch}, slot.UTC().Format(time.RFC3339))
	if err != nil {
		return err
	}
	_, err = s.Client.EnqueueContext(ctx, task, asynq.Queue(sc.Queue), asynq.Retention(slotRetention),
		asynq.MaxRetry(s.MaxRetry), asynq.Timeout(scanTimeout))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		s.Log.Debug().Str("schedule", sc.Name).Time("slot", slot).Msg("slot already enqueued by another replica")
		return nil
	}
	if err != nil {
		return err
	}
	s.Log.Info().Str("schedule", sc.Name).Time("slot", slot).Str("batch", batch).Msg("backfill scan enqueued")
	return nil
}
