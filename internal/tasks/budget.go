package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/layout"
)

// The retry budget (worker.maxRetry) is counted here, not by asynq.
//
// asynq archives a task whose Retried count has reached its MaxRetry
// before it asks IsFailure, so a requeue (vendor halt, throttle, no rate
// slot, batch count not stored) on the last allowed try used to archive the
// task without a result. Requeues never increment Retried (IsFailure is
// false for them), so Retried counts exactly the failed tries; we compare
// it with the worker's own budget and enqueue new tasks with a much larger
// asynq MaxRetry (RetryCeiling) that is only a safety net.
//
// Tasks queued by older producers still carry MaxRetry = the budget. When
// such a task is on asynq's last try and is not finished (a requeue, or a
// retry the worker's budget still allows), it is handed back as a fresh
// task: same payload bytes, ID layout.HandBackID(ID), its failures so far
// in a task header (layout.HandBack), asynq MaxRetry layout.RetryCeiling;
// the old task is then revoked. So `attempts` in the result stays failed tries + 1.

// Enqueuer is what hands a task back: an *asynq.Client.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// budget is the number of failed tries after which a transient failure is
// final: the worker's maxRetry, else (unit tests) the task's asynq MaxRetry.
func (h *Handler) budget(asynqMax int) int {
	if h.MaxRetry > 0 {
		return h.MaxRetry
	}
	return asynqMax
}

// keepAlive makes sure a run that did not finish its task is not archived
// by asynq for having reached the task's MaxRetry: such a task is handed
// back as a fresh one (see the top of this file). err is the run's outcome.
func (h *Handler) keepAlive(ctx context.Context, t *asynq.Task, retried, asynqMax, failures int, err error) error {
	var rq *requeue
	if errors.As(err, &rq) {
		id, _ := asynq.GetTaskID(ctx)
		h.Log.Debug().Str("task", id).Str("reason", rq.reason).Dur("after", rq.after).Msg("task handed back to the queue")
	}
	if err == nil || retried < asynqMax || ctx.Err() != nil ||
		errors.Is(err, asynq.SkipRetry) || errors.Is(err, asynq.RevokeTask) {
		return err
	}
	if h.Requeuer == nil {
		return err
	}
	id, _ := asynq.GetTaskID(ctx)
	queue, _ := asynq.GetQueueName(ctx)
	if IsFailure(err) {
		failures++
	}
	next := layout.HandBack(t, failures)
	opts := []asynq.Option{asynq.TaskID(layout.HandBackID(id)), asynq.Queue(queue), asynq.MaxRetry(layout.RetryCeiling),
		asynq.ProcessIn(RetryDelay(failures, err, nil))}
	if h.TaskTimeout > 0 {
		opts = append(opts, asynq.Timeout(h.TaskTimeout))
	}
	_, eerr := h.Requeuer.EnqueueContext(ctx, next, opts...)
	if eerr != nil && !errors.Is(eerr, asynq.ErrTaskIDConflict) {
		// Not handed back: asynq archives it (visible, re-runnable).
		return fmt.Errorf("%w (not handed back: %v)", err, eerr)
	}
	h.Log.Info().Str("task", id).Str("next", layout.HandBackID(id)).Int("failures", failures).
		Msg("task handed back as a fresh task: its asynq retry limit (set by an older producer) is reached")
	return fmt.Errorf("%w: handed back as %s", asynq.RevokeTask, layout.HandBackID(id))
}

// lastTryErr is what a transient storage failure returns: retried while the
// budget lasts, then archived (visible in the dashboard, re-runnable), since
// storage trouble is never the document's fault.
func lastTryErr(j *job, err error) error {
	if j.lastTry {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	return err
}

var _ Enqueuer = (*asynq.Client)(nil)
