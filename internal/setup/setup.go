// Package setup turns a loaded configuration into live clients (Redis,
// object storage, vendors, gates), the same way for every binary.
package setup

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/redisconn"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/s3"
	"github.com/ocrbatch/ocrworker/internal/tasks"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendorset"
)

// Redis turns the redis section (mode, url) into asynq's connection option
// and a go-redis client on the same servers for the limiter, batch
// counters and asynq's client, server and inspector (see redisconn).
func Redis(c *config.Config) (asynq.RedisConnOpt, redis.UniversalClient, error) {
	opt, rdb, err := redisconn.Open(c.Redis.Mode, c.Redis.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("config: redis.url: %w", err)
	}
	return opt, rdb, nil
}

// ParseRedisURL parses a single-mode Redis URL (redisconn.Parse) with an
// error that never quotes the URL.
func ParseRedisURL(raw string) (asynq.RedisConnOpt, error) {
	return redisconn.Parse(redisconn.ModeSingle, raw)
}

// Store connects to the configured object stores: S3 for s3:// and the
// tree under storage.fileRoot for file:// (see withFiles).
func Store(ctx context.Context, c *config.Config) (storage.Store, error) {
	s3store, err := s3.New(ctx, s3.Options{Endpoint: c.Storage.Endpoint, Region: c.Storage.Region, PathStyle: c.Storage.PathStyle})
	if err != nil {
		return nil, err
	}
	return withFiles(c, s3store)
}

// Vendors builds every configured vendor account with its shared gate.
func Vendors(c *config.Config, rdb redis.UniversalClient, log zerolog.Logger, m *ratelimit.Metrics) (map[string]*tasks.Vendor, error) {
	out := map[string]*tasks.Vendor{}
	for name, v := range c.Vendors {
		client, err := vendorset.New(name, v.Account())
		if err != nil {
			return nil, err
		}
		opts := []ratelimit.Option{ratelimit.WithLogger(log), ratelimit.WithMaxRetryAfter(c.Worker.MaxRetryAfter.D())}
		if m != nil {
			opts = append(opts, ratelimit.WithMetrics(m))
		}
		out[name] = &tasks.Vendor{
			Name: name, Client: client, Gate: ratelimit.NewVendorGate(rdb, name, GateConfig(v), opts...),
			PII: v.PII == config.PIIFull, TaskPII: v.PII == config.PIIPerTask, KeepRaw: v.KeepRaw,
			MaxImageBytes: v.MaxImageBytes, HaltFor: v.HaltFor.D(),
		}
	}
	return out, nil
}

// GateConfig is a configured vendor's limits as its gate takes them.
func GateConfig(v *config.Vendor) ratelimit.GateConfig {
	c := ratelimit.GateConfig{
		RPS: v.RateLimit.RPS, Burst: v.RateLimit.Burst, Concurrency: v.Concurrency,
		Concurrent: v.RateLimit.Concurrent, Adaptive: v.RateLimit.IsAdaptive(),
	}
	if spec, ok := v.Budget.Spec(); ok {
		c.Budget = &spec
	}
	return c
}

// Ready checks that Redis answers and object storage is reachable (a
// missing probe object or bucket still proves the store answers; which
// stores are probed: storesReady).
func Ready(ctx context.Context, rdb redis.UniversalClient, store storage.Store) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return storesReady(ctx, store)
}
