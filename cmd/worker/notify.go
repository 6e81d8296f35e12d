package main

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/notify"
	"github.com/ocrbatch/ocrworker/internal/setup"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

// withWebhooks wires the config's notify: receivers into the worker: the
// batches emit batch.completed and document.failed where they learn them,
// the vendors' gates emit vendor.halted, and the returned handler sends
// the deliveries (register it on the mux; notify.WrapRetryDelay gives its
// tasks their backoff). Without receivers every event is a no-op.
func withWebhooks(cfg *config.Config, rdb redis.UniversalClient, reg prometheus.Registerer, log zerolog.Logger,
	b setup.Tracker, vendors map[string]*tasks.Vendor) (setup.NotifyingBatches, *notify.Handler) {
	deps := setup.NotifyDeps(cfg, rdb, asynq.NewClientFromRedisClient(rdb), notify.NewMetrics(reg))
	em := notify.NewEmitter(deps)
	log = log.With().Str("component", "notify").Logger()
	setup.NotifyHalts(vendors, em, log)
	return setup.NotifyingBatches{Tracker: b, Emitter: em, Log: log}, notify.NewHandler(deps)
}
