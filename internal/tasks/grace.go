package tasks

import (
	"context"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// Sightings remembers, across workers and restarts, when a task was first
// met by a worker that could not read it (implemented on Redis by
// internal/sightings). A Redis key per task ID is the clock: asynq tells a
// handler neither when a task was enqueued nor which run this is.
type Sightings interface {
	// FirstSeen records now as the first sighting of task id unless one is
	// recorded, and returns the recorded one.
	FirstSeen(ctx context.Context, id string, now time.Time) (time.Time, error)
}

// graceRequeueEvery bounds one hand-back within the grace, so a worker
// that knows the task gets it soon after it joins.
const graceRequeueEvery = 30 * time.Second

// unknownOrFail handles a task naming a vendor, document type or payload
// version this worker does not know. In a rolling deploy a newer worker may
// know it: the task is handed back (not a failure) until worker.unknownGrace
// has passed since the first worker met it, then e is its final result.
// why names what is unknown (a vendor name, type or version: never a key).
func (h *Handler) unknownOrFail(ctx context.Context, j *job, e *ocrerr.Error, why string) error {
	if h.UnknownGrace <= 0 || h.Sightings == nil {
		return h.finish(ctx, j, e)
	}
	now := h.now()
	first, err := h.Sightings.FirstSeen(ctx, j.TaskID(), now)
	if err != nil {
		first = now // Redis trouble: the grace starts again, nothing is lost
	}
	left := first.Add(h.UnknownGrace).Sub(now)
	if left <= 0 {
		j.log.Warn().Str("why", why).Dur("grace", h.UnknownGrace).Msg("no worker read this task within worker.unknownGrace: failing it")
		return h.finish(ctx, j, e)
	}
	j.log.Warn().Str("why", why).Dur("left", left).
		Msg("task names what this worker does not know: handed back for a worker that does (rolling deploy?)")
	return &requeue{after: max(min(left, graceRequeueEvery), time.Second), reason: why + " unknown to this worker"}
}
