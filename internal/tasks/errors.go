package tasks

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/storage"
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
	n += layout.CarriedFailures(t)
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

// storageErr classifies a storage error: a missing object is the
// document's final outcome; a key over S3's limit is key_too_long; any
// other refusal (4xx that is not throttling or a precondition: access
// denied, bad bucket name) is permanent storage_rejected; the rest is
// transient. The cause is redacted: it reaches logs and asynq's last-error
// field, and object keys may hold personal data.
func storageErr(err error, what string) *ocrerr.Error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return ocrerr.Permanent(ocrerr.SourceNotFound, "%s not found", what)
	case storage.IsKeyTooLong(err):
		return ocrerr.Permanent(ocrerr.KeyTooLong, "%s: object key over S3's %d bytes", what, layout.MaxKeyBytes)
	case storage.IsRejected(err):
		return ocrerr.Permanent(ocrerr.StorageRejected, "%s: storage refused the request", what).Wrap(ocrerr.Redact(err))
	}
	return ocrerr.Transient(ocrerr.StorageUnavailable, "%s: storage unavailable", what).Wrap(ocrerr.Redact(err))
}
