package tasks

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// AwaitRedis is the worker's asynq middleware that holds a finished task's outcome until Redis answers (at most
// maxWait) before handing it to asynq.
//
// Why: asynq v0.26 records an outcome (done, retry, archive) with a context
// it cancels when its first attempt returns, yet retries failed attempts
// later with that same context (processor.go, markAsDone/retry/... with
// `defer cancel()`), so every retry fails. A task that ends while Redis is
// briefly down therefore stays "active" until its lease expires and the
// recoverer takes it back, 60-120 s later. Waiting here, while asynq keeps
// extending the task's 30 s lease, lets the first attempt land once Redis is
// back. A task whose context ended is left alone: asynq has already moved on.
func AwaitRedis(rdb redis.UniversalClient, log zerolog.Logger, maxWait time.Duration) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			err := next.ProcessTask(ctx, t)
			if ctx.Err() != nil {
				return err
			}
			waitForRedis(ctx, rdb, log, maxWait)
			return err
		})
	}
}

func waitForRedis(ctx context.Context, rdb redis.UniversalClient, log zerolog.Logger, maxWait time.Duration) {
	deadline := time.Now().Add(maxWait)
	for i := 0; ; i++ {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			if i > 0 {
				log.Info().Int("pings", i+1).Msg("redis answers again: recording the task's outcome")
			}
			return
		}
		if i == 0 {
			log.Warn().Err(err).Msg("redis unreachable: holding the task's outcome until it answers")
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}
