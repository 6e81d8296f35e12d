package notify

import (
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
)

// Retry policy of a delivery: exponential backoff from firstRetry, doubling
// up to maxBackoff, for RetryWindow. MaxRetry is computed from the same
// schedule, so the retries span the window and no more.
const (
	RetryWindow = 24 * time.Hour
	firstRetry  = 10 * time.Second
	maxBackoff  = time.Hour
	// AttemptTimeout bounds one delivery attempt (asynq Timeout); the HTTP
	// request itself has requestTimeout.
	AttemptTimeout = 30 * time.Second
	requestTimeout = 15 * time.Second
)

// MaxRetry is the number of retries whose backoffs first add up to
// RetryWindow (32 with the constants above: ~24.4 h).
var MaxRetry = retriesToSpan(RetryWindow)

// backoff is the wait before retry n+1 (n = retries so far), without jitter.
func backoff(n int) time.Duration {
	if n >= 20 {
		return maxBackoff
	}
	return min(firstRetry<<n, maxBackoff)
}

func retriesToSpan(window time.Duration) int {
	var total time.Duration
	n := 0
	for total < window {
		total += backoff(n)
		n++
	}
	return n
}

// RetryDelay is the asynq RetryDelayFunc of notify tasks: backoff(n) plus up
// to 10% jitter, so many deliveries failing together do not retry together.
func RetryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := backoff(n)
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// WrapRetryDelay returns the worker's asynq RetryDelayFunc with notify's
// policy for notify tasks and next for every other task:
//
//	RetryDelayFunc: notify.WrapRetryDelay(tasks.RetryDelay)
func WrapRetryDelay(next asynq.RetryDelayFunc) asynq.RetryDelayFunc {
	return func(n int, err error, t *asynq.Task) time.Duration {
		if IsTask(t.Type()) {
			return RetryDelay(n, err, t)
		}
		return next(n, err, t)
	}
}
