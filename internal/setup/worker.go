package setup

import (
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/backfill"
	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/metrics"
	"github.com/ocrbatch/ocrworker/internal/notify"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/sightings"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

// Worker is what serves tasks: the recognize, scan and webhook handlers on
// an asynq server, built from the configuration. The worker binary and
// `producer run` (which serves only its own queue) both build it here, so a
// run in the producer has the same handler, limits, webhooks and results as
// a worker.
type Worker struct {
	Server   *asynq.Server
	Mux      *asynq.ServeMux
	Registry *prometheus.Registry // the handler's, limiter's and webhooks' metrics
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
	batches, webhooks := withWebhooks(cfg, rdb, reg, log, batch.New(rdb, batch.WithRetention(cfg.Batches.Retention.D()), batch.WithStore(store)), vendors)
	h := &tasks.Handler{
		Store:         store,
		Vendors:       vendors,
		Config:        cfg,
		Log:           log,
		Metrics:       metrics.New(reg),
		Batches:       batches,
		Buckets:       cfg.Storage.Buckets,
		RateWait:      cfg.Worker.RateWait.D(),
		MaxRetry:      cfg.Worker.MaxRetry,
		MaxRetryAfter: cfg.Worker.MaxRetryAfter.D(),
		UnknownGrace:  cfg.Worker.UnknownGrace.D(),
		Sightings:     sightings.Redis{RDB: rdb, Grace: cfg.Worker.UnknownGrace.D()},
		// Hands back tasks of older producers on asynq's last try (tasks/budget.go).
		Requeuer:    asynq.NewClientFromRedisClient(rdb),
		TaskTimeout: cfg.Worker.TaskTimeout.D(),
	}
	mux := asynq.NewServeMux()
	mux.Use(tasks.AwaitRedis(rdb, log, 20*time.Second)) // within asynq's 30 s lease
	mux.Handle(layout.TypeRecognize, h)
	webhooks.Register(mux)
	client := asynq.NewClientFromRedisClient(rdb)
	mux.Handle(layout.TypeScan, backfill.NewHandler(client, store, cfg, batches, log))
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:     cfg.Worker.Concurrency,
		Queues:          queues,
		IsFailure:       tasks.IsFailure,
		RetryDelayFunc:  notify.WrapRetryDelay(tasks.RetryDelay),
		ShutdownTimeout: cfg.Worker.ShutdownTimeout.D(),
		// Retries and requeues are due within a second, not asynq's default 5s.
		DelayedTaskCheckInterval: time.Second,
		Logger:                   asynqLogger{log.With().Str("component", "asynq").Logger()},
		LogLevel:                 asynq.WarnLevel,
	})
	return &Worker{Server: srv, Mux: mux, Registry: reg}, nil
}

// withWebhooks wires the config's notify: receivers into the worker: the
// batches emit batch.completed and document.failed where they learn them,
// the vendors' gates emit vendor.halted, and the returned handler sends
// the deliveries (register it on the mux; notify.WrapRetryDelay gives its
// tasks their backoff). Without receivers every event is a no-op.
func withWebhooks(cfg *config.Config, rdb redis.UniversalClient, reg prometheus.Registerer, log zerolog.Logger,
	b Tracker, vendors map[string]*tasks.Vendor) (NotifyingBatches, *notify.Handler) {
	deps := NotifyDeps(cfg, rdb, asynq.NewClientFromRedisClient(rdb), notify.NewMetrics(reg))
	em := notify.NewEmitter(deps)
	log = log.With().Str("component", "notify").Logger()
	NotifyHalts(vendors, em, log)
	return NotifyingBatches{Tracker: b, Emitter: em, Log: log}, notify.NewHandler(deps)
}

// asynqLogger routes asynq's own logs through zerolog.
type asynqLogger struct{ l zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmtArgs(args)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmtArgs(args)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmtArgs(args)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmtArgs(args)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Fatal().Msg(fmtArgs(args)) }

func fmtArgs(args []any) string { return strings.TrimSuffix(fmt.Sprintln(args...), "\n") }
