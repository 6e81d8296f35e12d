package tasks

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// requeue hands a task back to the queue without counting a failure (asynq
// Config.IsFailure returns false for it), so waiting for a vendor never uses
// up a task's retry budget: throttling, a halted vendor, a full rate limit.
type requeue struct {
	after  time.Duration
	reason string
}

func (r *requeue) Error() string { return fmt.Sprintf("requeued for %s: %s", r.after, r.reason) }

// IsFailure is the asynq Config.IsFailure of the worker: requeues are not failures.
func IsFailure(err error) bool {
	var r *requeue
	return !errors.As(err, &r)
}

// RetryDelay is the asynq Config.RetryDelayFunc of the worker: a requeue
// waits what it asked for; a transient failure backs off exponentially
// (1s, 2s, 4s ... capped at 5m) with jitter, or what the vendor asked for.
// n is asynq's count of failed tries, plus those a handed-back task carries.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	n += carriedFailures(t)
	var r *requeue
	if errors.As(err, &r) {
		return jitter(r.after)
	}
	if e, ok := ocrerr.As(err); ok && e.RetryAfter > 0 {
		return jitter(e.RetryAfter)
	}
	d := time.Second << min(n, 9)
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	return jitter(d)
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Second
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}
