package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/backfill"
	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/metrics"
	"github.com/ocrbatch/ocrworker/internal/notify"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/setup"
	"github.com/ocrbatch/ocrworker/internal/sightings"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

type worker struct {
	cfg       *config.Config
	log       zerolog.Logger
	srv       *asynq.Server
	mux       *asynq.ServeMux
	rdb       redis.UniversalClient
	redisOpt  asynq.RedisConnOpt
	store     storage.Store
	health    *http.Server
	scheduler bool
}

func newWorker(ctx context.Context, f flags, queues map[string]int, log zerolog.Logger) (*worker, error) {
	cfg, err := config.Load(config.Path(f.Config))
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateSecrets(); err != nil {
		return nil, err
	}
	if f.concurrency > 0 {
		cfg.Worker.Concurrency = f.concurrency
	}
	if queues != nil {
		cfg.Worker.Queues = queues
	}
	if f.metricsAddr != "" {
		cfg.Worker.MetricsAddr = f.metricsAddr
	}
	redisOpt, rdb, err := setup.Redis(cfg)
	if err != nil {
		return nil, err
	}
	store, err := setup.Store(ctx, cfg)
	if err != nil {
		return nil, err
	}
	reg := metrics.NewRegistry()
	m := metrics.New(reg)
	vendors, err := setup.Vendors(cfg, rdb, log, ratelimit.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	batches, webhooks := withWebhooks(cfg, rdb, reg, log, batch.New(rdb, batch.WithRetention(cfg.Batches.Retention.D()), batch.WithStore(store)), vendors)
	h := &tasks.Handler{
		Store:         store,
		Vendors:       vendors,
		Config:        cfg,
		Log:           log,
		Metrics:       m,
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
		Queues:          cfg.Worker.Queues,
		IsFailure:       tasks.IsFailure,
		RetryDelayFunc:  notify.WrapRetryDelay(tasks.RetryDelay),
		ShutdownTimeout: cfg.Worker.ShutdownTimeout.D(),
		// Retries and requeues are due within a second, not asynq's default 5s.
		DelayedTaskCheckInterval: time.Second,
		Logger:                   asynqLogger{log.With().Str("component", "asynq").Logger()},
		LogLevel:                 asynq.WarnLevel,
	})
	w := &worker{cfg: cfg, log: log, srv: srv, mux: mux, rdb: rdb, redisOpt: redisOpt, store: store, scheduler: f.scheduler}
	if cfg.Worker.MetricsAddr != "" {
		hm := metrics.OpsHandler(reg, func(ctx context.Context) error { return setup.Ready(ctx, rdb, store) })
		w.health = &http.Server{Addr: cfg.Worker.MetricsAddr, Handler: hm, ReadHeaderTimeout: 10 * time.Second}
	}
	return w, nil
}

func (w *worker) run(ctx context.Context) error {
	if w.health != nil {
		ln, err := net.Listen("tcp", w.health.Addr)
		if err != nil {
			return err
		}
		w.log.Info().Str("addr", ln.Addr().String()).Msg("serving /metrics, /healthz, /readyz")
		go w.health.Serve(ln)
		defer w.health.Close()
	}
	if err := w.srv.Start(w.mux); err != nil {
		return err
	}
	var sched *backfill.Scheduler
	if w.scheduler {
		if len(w.cfg.Schedules) == 0 {
			w.log.Warn().Msg("--scheduler given but the config has no schedules: nothing to schedule")
		}
		// Every replica may run the scheduler: each slot has its own task ID,
		// so a slot is scanned once however many replicas fire it.
		sched = &backfill.Scheduler{Client: asynq.NewClientFromRedisClient(w.rdb), Schedules: w.cfg.Schedules,
			Log: w.log.With().Str("component", "scheduler").Logger(), MaxRetry: w.cfg.Worker.MaxRetry}
		if err := sched.Start(); err != nil {
			w.srv.Shutdown()
			return err
		}
	}
	w.log.Info().Int("concurrency", w.cfg.Worker.Concurrency).Interface("queues", w.cfg.Worker.Queues).
		Int("vendors", len(w.cfg.Vendors)).Bool("scheduler", w.scheduler).Msg("worker started")
	<-ctx.Done()
	w.log.Info().Dur("timeout", w.cfg.Worker.ShutdownTimeout.D()).Msg("shutting down: finishing in-flight tasks")
	if sched != nil {
		sched.Shutdown()
	}
	w.srv.Stop()     // take no new tasks
	w.srv.Shutdown() // wait for in-flight ones, hand back the rest
	w.log.Info().Msg("worker stopped")
	return nil
}

// asynqLogger routes asynq's own logs through zerolog.
type asynqLogger struct{ l zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmtArgs(args)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmtArgs(args)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmtArgs(args)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmtArgs(args)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Fatal().Msg(fmtArgs(args)) }

func fmtArgs(args []any) string { return strings.TrimSuffix(fmt.Sprintln(args...), "\n") }
