package ratelimit

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// redisAddr is one real redis-server for the package: REDIS_ADDR if set,
// else one started by testenv (and put in REDIS_ADDR for the examples).
// Tests isolate themselves by key prefix.
var redisAddr string

func TestMain(m *testing.M) {
	os.Exit(runWithRedis(m))
}

func runWithRedis(m *testing.M) int {
	if redisAddr = os.Getenv("REDIS_ADDR"); redisAddr != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ratelimit-redis-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := testenv.RunRedis(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Stop()
	redisAddr = srv.Addr
	if err := os.Setenv("REDIS_ADDR", redisAddr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// newClient is one simulated worker process: its own connection pool.
func newClient(t testing.TB) redis.UniversalClient {
	c := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 16})
	t.Cleanup(func() { c.Close() })
	return c
}

// prefix isolates each test's keys on the shared server.
func prefix(t testing.TB) Option {
	return WithKeyPrefix("test:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":")
}

// fakeClock is a clock the test moves by hand (WithClock).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
