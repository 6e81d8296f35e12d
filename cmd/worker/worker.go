package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/backfill"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/metrics"
	"github.com/ocrbatch/ocrworker/internal/setup"
	"github.com/ocrbatch/ocrworker/internal/storage"
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
	ws, err := setup.NewWorker(cfg, rdb, store, log, nil)
	if err != nil {
		return nil, err
	}
	srv, mux, reg := ws.Server, ws.Mux, ws.Registry
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
