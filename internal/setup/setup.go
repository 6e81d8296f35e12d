// Package setup turns a loaded configuration into live clients (Redis,
// object storage, vendors, gates), the same way for every binary.
package setup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/s3"
	"github.com/ocrbatch/ocrworker/internal/tasks"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendorset"
)

// Redis parses redis.url the way asynq does (redis://, rediss://,
// redis-sentinel://) and returns asynq's connection option and a go-redis
// client on the same server for the limiter and batch counters.
func Redis(c *config.Config) (asynq.RedisConnOpt, redis.UniversalClient, error) {
	opt, err := ParseRedisURL(c.Redis.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("config: redis.url: %w", err)
	}
	rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, nil, fmt.Errorf("config: redis.url: unsupported connection type")
	}
	return opt, rdb, nil
}

// ParseRedisURL is asynq.ParseRedisURI with an error that never quotes the
// URL: url.Parse's errors hold the whole string, password included, and
// the binaries log them. What is left names the problem ("invalid port").
func ParseRedisURL(raw string) (asynq.RedisConnOpt, error) {
	opt, err := asynq.ParseRedisURI(raw)
	if err == nil {
		return opt, nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := strings.ReplaceAll(err.Error(), raw, "…")
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at > 0 {
			msg = strings.ReplaceAll(msg, rest[:at], "…") // the userinfo, however it was quoted
		}
	}
	return nil, errors.New("not a usable Redis URL: " + msg)
}

// Store connects to the configured object store.
func Store(ctx context.Context, c *config.Config) (*s3.Store, error) {
	return s3.New(ctx, s3.Options{Endpoint: c.Storage.Endpoint, Region: c.Storage.Region, PathStyle: c.Storage.PathStyle})
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
// missing probe object or bucket still proves the store answers).
func Ready(ctx context.Context, rdb redis.UniversalClient, store storage.Store) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	_, err := store.Bucket("ocr-readiness-probe").Head(ctx, "probe")
	if err != nil && storage.IsTransient(err) {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}
