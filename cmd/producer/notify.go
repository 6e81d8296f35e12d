package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/notify"
	"github.com/ocrbatch/ocrworker/internal/setup"
)

// batches are the batch counters of an enqueue; a batch that Seal finds
// complete (every source skipped, or workers faster than the producer)
// sends batch.completed, its deliveries on the enqueue's queue.
func (e *env) batches(client *asynq.Client, queue string) batch.Books {
	em := notify.NewEmitter(setup.NotifyDeps(e.cfg, e.rdb, client, nil))
	return setup.NotifyingBatches{Tracker: e.tracker(), Emitter: em, Log: e.log, Queue: queue}
}

// notifyHalted sends vendor.halted for an operator's `producer halt`.
func (e *env) notifyHalted(ctx context.Context, vendor string) {
	client := asynq.NewClientFromRedisClient(e.rdb)
	defer client.Close()
	em := notify.NewEmitter(setup.NotifyDeps(e.cfg, e.rdb, client, nil))
	if err := em.VendorHalted(ctx, vendor, "operator"); err != nil {
		e.log.Warn().Err(err).Str("vendor", vendor).Msg("vendor.halted webhook not queued")
	}
}

// printWebhooks adds to `producer status BATCH` a line per configured
// receiver (its scheme and host only: a URL may hold a token) and how each
// of the batch's events went to it:
//
//	webhook accounting https://hooks.example.com: delivered 12, gave up 0, failing (http_503) since 07:05:03
//	  batch.completed: failing (http_503)
func printWebhooks(ctx context.Context, w io.Writer, e *env, batchID string) error {
	if len(e.cfg.Notify) == 0 {
		return nil
	}
	states, err := notify.States(ctx, e.rdb, e.cfg.Notify)
	if err != nil {
		return err
	}
	deliveries, err := notify.BatchDeliveries(ctx, e.rdb, batchID)
	if err != nil {
		return err
	}
	for _, s := range states {
		state := "ok"
		switch {
		case s.LastAttemptAt.IsZero():
			state = "no attempt yet"
		case s.Failing:
			state = fmt.Sprintf("failing (%s), last attempt %s", s.LastCode, s.LastAttemptAt.Local().Format(time.TimeOnly))
		}
		if _, err := fmt.Fprintf(w, "webhook %s %s: delivered %d, gave up %d, %s\n", s.Receiver, s.Target, s.Delivered, s.GaveUp, state); err != nil {
			return err
		}
		for _, d := range deliveries {
			if d.Receiver != s.Receiver {
				continue
			}
			line := "  " + d.Event + ": " + d.Outcome
			if d.Code != "" {
				line += " (" + d.Code + ")"
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}
