package tasks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// TestAwaitRedis: a task that ends while Redis is down hands its outcome to
// asynq only once Redis answers again, and keeps the handler's error.
func TestAwaitRedis(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer rdb.Close()
	want := errors.New("handler error")
	h := AwaitRedis(rdb, zerolog.Nop(), 20*time.Second)(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return want }))

	// Redis up: no wait.
	if err := h.ProcessTask(t.Context(), asynq.NewTask("x", nil)); !errors.Is(err, want) {
		t.Fatalf("err %v", err)
	}

	r.Stop()
	stopped := time.Now()
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		time.Sleep(time.Second) // Redis is down at least this long
		if err := r.Restart(); err != nil {
			t.Error(err)
		}
	}()
	err := h.ProcessTask(t.Context(), asynq.NewTask("x", nil))
	returned := time.Now()
	if !errors.Is(err, want) {
		t.Errorf("err %v", err)
	}
	<-restarted
	if d := returned.Sub(stopped); d < time.Second {
		t.Errorf("returned %s after Redis stopped, before it was back", d)
	}
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Errorf("redis after the wait: %v", err)
	}

	// A task whose context ended is not held.
	r.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	_ = h.ProcessTask(ctx, asynq.NewTask("x", nil))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("held a cancelled task %s", d)
	}
}
