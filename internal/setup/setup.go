// Package setup turns a loaded configuration into live clients (Redis,
// object storage, vendors, gates), the same way for every binary.
package setup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
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
		client, err := vendorset.New(name, v)
		if err != nil {
			return nil, err
		}
		opts := []ratelimit.Option{ratelimit.WithLogger(log), ratelimit.WithHaltFor(v.HaltFor.D()),
			ratelimit.WithMaxRetryAfter(c.Worker.MaxRetryAfter.D())}
		if m != nil {
			opts = append(opts, ratelimit.WithMetrics(m))
		}
		lim := ratelimit.New(rdb, name, v.RateLimit.RPS, v.RateLimit.Burst, v.Concurrency, opts...)
		out[name] = &tasks.Vendor{
			Name: name, Client: client, Gate: &gate{lim: lim, vendor: name},
			PII: v.PII == config.PIIFull, TaskPII: v.PII == config.PIIPerTask, KeepRaw: v.KeepRaw, Verify: v.Verify,
			MaxImageBytes: v.MaxImageBytes, HaltFor: v.HaltFor.D(),
		}
	}
	return out, nil
}

// gate adapts a ratelimit.Limiter to tasks.Gate.
type gate struct {
	lim    *ratelimit.Limiter
	vendor string

	// Halted is asked by every task before any work; the answer is kept
	// for haltCacheFor so a busy process reads the halt from Redis about
	// once a second, not once a task. Acquire still reads it live.
	mu        sync.Mutex
	checked   time.Time
	haltUntil time.Time
	halted    bool
}

// haltCacheFor is how stale a process's view of a vendor halt may be.
const haltCacheFor = time.Second

func (g *gate) Acquire(ctx context.Context) (func(), time.Duration, error) { return g.lim.Acquire(ctx) }

func (g *gate) Throttled(ctx context.Context, retryAfter time.Duration) {
	_ = g.lim.Throttled(ctx, retryAfter)
}

func (g *gate) Halted(ctx context.Context) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.checked) < haltCacheFor {
		return g.haltUntil, g.halted
	}
	st, halted, err := g.lim.Gate().Halted(ctx, g.vendor)
	if err != nil {
		return time.Time{}, false // Redis trouble: Acquire will wait or fail on its own
	}
	g.checked, g.haltUntil, g.halted = time.Now(), st.Until, halted
	return st.Until, halted
}

func (g *gate) Halt(ctx context.Context, code string, until time.Time) error {
	if err := g.lim.Gate().Halt(ctx, g.vendor, ocrerr.Code(code), until); err != nil {
		return err
	}
	g.mu.Lock()
	g.checked, g.haltUntil, g.halted = time.Now(), until, true // this process knows at once
	g.mu.Unlock()
	return nil
}

// Batches adapts a batch.Tracker to what the worker and producer need.
type Batches struct{ *batch.Tracker }

// Summary builds the summary object of a finished batch.
func (b Batches) Summary(ctx context.Context, id string) ([]byte, error) {
	st, err := b.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	f, err := b.Failures(ctx, id)
	if err != nil {
		return nil, err
	}
	return st.Summary(f)
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

// Sightings records on Redis when a task was first met by a worker that
// could not read it (tasks.Sightings), so worker.unknownGrace counts from
// that moment on every worker and across restarts. One key per task ID
// (a hash, never an object key), expiring after twice the grace.
type Sightings struct {
	RDB   redis.UniversalClient
	Grace time.Duration
}

// FirstSeen implements tasks.Sightings.
func (s Sightings) FirstSeen(ctx context.Context, id string, now time.Time) (time.Time, error) {
	key := "ocr:unknown:{" + id + "}"
	set, err := s.RDB.SetNX(ctx, key, now.UnixMilli(), 2*s.Grace).Result()
	if err != nil || set {
		return now, err
	}
	ms, err := s.RDB.Get(ctx, key).Int64()
	if err != nil {
		return now, err
	}
	return time.UnixMilli(ms), nil
}
