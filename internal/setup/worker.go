package setup

import (
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/metrics"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

// Worker is what serves tasks: the recognize and scan handlers on an asynq
// server, built from the configuration. The worker binary and `producer
// run` (which serves only its own queue) both build it here, so a run in
// the producer has the same handler, limits and results as a worker.
type Worker struct {
	Server   *asynq.Server
	Mux      *asynq.ServeMux
	Registry *prometheus.Registry // the handler's and limiter's metrics
}

// NewWorker builds the handlers and the server for cfg.Worker, serving
// queues (cfg.Worker.Queues when nil). Start it with w.Server.Start(w.Mux).
func NewWorker(cfg *config.Config, rdb redis.UniversalClient, store storage.Store, log zerolog.Logger, queues map[string]int) (*Worker, error) {
	if queues == nil {
		queues = cfg.Worker.Queues
	}
	reg := metrics.NewRegistry()
	vendors, err := Vendors(cfg, rdb, log, ratelimit.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	batches := Batches{Tracker: batch.New(rdb, batch.WithRetention(cfg.Batches.Retention.D()))}
	h := &tasks.Handler{
		Store:         store,
		Vendors:       vendors,
		Routes:        cfg.Routes,
		Log:           log,
		Metrics:       metrics.New(reg),
		Batches:       batches,
		Buckets:       cfg.Storage.Buckets,
		RateWait:      cfg.Worker.RateWait.D(),
		MaxRetry:      cfg.Worker.MaxRetry,
		MaxRetryAfter: cfg.Worker.MaxRetryAfter.D(),
		UnknownGrace:  cfg.Worker.UnknownGrace.D(),
		Sightings:     Sightings{RDB: rdb, Grace: cfg.Worker.UnknownGrace.D()},
		// Hands back tasks of older producers on asynq's last try (tasks/budget.go).
		Requeuer:    asynq.NewClientFromRedisClient(rdb),
		TaskTimeout: cfg.Worker.TaskTimeout.D(),
	}
	mux := asynq.NewServeMux()
	mux.Use(awaitRedis(rdb, log, 20*time.Second)) // within asynq's 30 s lease
	mux.Handle(tasks.TypeRecognize, h)
	client := asynq.NewClientFromRedisClient(rdb)
	mux.Handle(tasks.TypeScan, &producer.ScanHandler{Enqueuer: &producer.Enqueuer{
		Client: client, Store: store, Config: cfg, Batches: batches, Log: log}})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:     cfg.Worker.Concurrency,
		Queues:          queues,
		IsFailure:       tasks.IsFailure,
		RetryDelayFunc:  tasks.RetryDelay,
		ShutdownTimeout: cfg.Worker.ShutdownTimeout.D(),
		// Retries and requeues are due within a second, not asynq's default 5s.
		DelayedTaskCheckInterval: time.Second,
		Logger:                   asynqLogger{log.With().Str("component", "asynq").Logger()},
		LogLevel:                 asynq.WarnLevel,
	})
	return &Worker{Server: srv, Mux: mux, Registry: reg}, nil
}

// asynqLogger routes asynq's own logs through zerolog.
type asynqLogger struct{ l zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmtArgs(args)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmtArgs(args)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmtArgs(args)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmtArgs(args)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Fatal().Msg(fmtArgs(args)) }

func fmtArgs(args []any) string { return strings.TrimSuffix(fmt.Sprintln(args...), "\n") }
