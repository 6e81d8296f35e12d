package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// InFlight caps the calls in flight to one vendor account across every
// worker process (rateLimit.concurrent). It is a Redis semaphore with
// leases: a sorted set of lease IDs scored by their expiry (Redis time, ms).
// A holder renews its lease while its call runs; a worker that is killed
// stops renewing, and its slots come back once the lease TTL (a few
// seconds) has passed, not after a task timeout.
//
// The limit is an argument of Acquire, not of the semaphore, because the
// adaptive controller moves it while calls run: a lower limit takes effect
// as calls end (nothing in flight is cut short).
type InFlight struct {
	rdb    redis.UniversalClient
	vendor string
	key    string
	capKey string // the adaptive state whose inFlight also caps Acquire; "" if none
	ttl    time.Duration
	o      options

	mu   sync.Mutex
	wake chan struct{} // closed (and replaced) when this process frees a slot
}

// DefaultLeaseTTL is how long a slot outlives a worker that stopped renewing it.
const DefaultLeaseTTL = 5 * time.Second

// Lease is one held slot. Release it once the vendor call has ended.
type Lease struct {
	// InFlight is the number of calls in flight to the vendor across the
	// fleet, this one included, when the slot was granted: the adaptive
	// controller's evidence for a limit on calls in flight.
	InFlight int

	s    *InFlight
	id   string
	stop chan struct{}
	once sync.Once
}

// NewInFlight returns the fleet-wide in-flight cap of vendor. leaseTTL <= 0
// means DefaultLeaseTTL. Of opts, WithKeyPrefix and WithLogger apply.
func NewInFlight(rdb redis.UniversalClient, vendor string, leaseTTL time.Duration, opts ...Option) *InFlight {
	if leaseTTL <= 0 {
		leaseTTL = DefaultLeaseTTL
	}
	o := buildOptions(opts)
	return &InFlight{rdb: rdb, vendor: vendor, key: inflightKey(o.prefix, vendor), ttl: leaseTTL, o: o, wake: make(chan struct{})}
}

// CapByLearned makes Acquire also obey the fleet's learned in-flight limit
// (package adapt's state, JSON at learnedKey with field "inFlight"), read
// in the acquire script itself: a decrease then holds back every worker at
// once, not when each worker's copy of the learned limits is next synced.
func (s *InFlight) CapByLearned(learnedKey string) *InFlight {
	s.capKey = learnedKey
	return s
}

// inflightKey shares the vendor's "{vendor}" hash tag with its other keys.
func inflightKey(prefix, vendor string) string { return prefix + "rl:{" + vendor + "}:inflight" }

// acquireScript drops expired leases, then adds ARGV[3] if fewer than ARGV[1]
// (or, with ARGV[4] = "1", the learned inFlight in KEYS[2] if lower) are left. Returns {1 if granted else 0, leases held after the attempt}.
var acquireScript = redis.NewScript(`
redis.replicate_commands()
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
if ARGV[4] == "1" then
  local raw = redis.call("GET", KEYS[2])
  if raw then
    local ok, st = pcall(cjson.decode, raw)
    if ok and type(st) == "table" and tonumber(st.inFlight) and tonumber(st.inFlight) >= 1 then
      limit = math.min(limit, tonumber(st.inFlight))
    end
  end
end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local n = redis.call("ZCARD", KEYS[1])
if n >= limit then
  return {0, n}
end
redis.call("ZADD", KEYS[1], now + ttl, ARGV[3])
redis.call("PEXPIRE", KEYS[1], 2 * ttl)
return {1, n + 1}
`)

// renewScript moves a lease's expiry. A lease that was lost (the process
// stalled past its TTL, Redis restarted) is added back: its call is still
// running, and counting it is the honest answer.
var renewScript = redis.NewScript(`
redis.replicate_commands()
local ttl = tonumber(ARGV[1])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lost = redis.call("ZADD", KEYS[1], now + ttl, ARGV[2])
redis.call("PEXPIRE", KEYS[1], 2 * ttl)
return lost
`)

// Acquire waits until fewer than limit calls are in flight to the vendor
// across the fleet, then holds one slot until Release. limit < 1 counts as
// 1. The wait is bounded by ctx; a freed slot in this process is tried at
// once, one freed elsewhere within the poll interval (up to 100ms).
func (s *InFlight) Acquire(ctx context.Context, limit int) (*Lease, error) {
	limit = max(1, limit)
	id := newLeaseID()
	poll := 5 * time.Millisecond
	for {
		s.mu.Lock()
		wake := s.wake
		s.mu.Unlock()
		capKey, useCap := s.key, "0" // KEYS[2] must exist; the lease key stands in, unread
		if s.capKey != "" {
			capKey, useCap = s.capKey, "1"
		}
		res, err := acquireScript.Run(ctx, s.rdb, []string{s.key, capKey}, limit, s.ttl.Milliseconds(), id, useCap).Int64Slice()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("ratelimit: %s: gave up waiting for a call slot: %w", s.vendor, ctx.Err())
			}
			return nil, fmt.Errorf("ratelimit: %s: take call slot: %w", s.vendor, err)
		}
		if res[0] == 1 {
			l := &Lease{InFlight: int(res[1]), s: s, id: id, stop: make(chan struct{})}
			go l.renew()
			return l, nil
		}
		t := time.NewTimer(withJitter(poll))
		select {
		case <-wake:
		case <-t.C:
			poll = min(2*poll, 100*time.Millisecond)
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("ratelimit: %s: gave up waiting for a call slot: %w", s.vendor, ctx.Err())
		}
		t.Stop()
	}
}

// Count is the number of live leases: calls in flight across the fleet.
func (s *InFlight) Count(ctx context.Context) (int, error) {
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: %s: count call slots: %w", s.vendor, err)
	}
	n, err := s.rdb.ZCount(ctx, s.key, fmt.Sprint(now.UnixMilli()+1), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: %s: count call slots: %w", s.vendor, err)
	}
	return int(n), nil
}

// renew keeps the lease alive while the call runs, at a third of its TTL so
// that one late renewal does not lose it.
func (l *Lease) renew() {
	t := time.NewTicker(l.s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.s.ttl/3)
			lost, err := renewScript.Run(ctx, l.s.rdb, []string{l.s.key}, l.s.ttl.Milliseconds(), l.id).Int64()
			cancel()
			if err != nil {
				l.s.o.log.Warn().Err(err).Str("vendor", l.s.vendor).Msg("could not renew a call slot; it may be given to another call")
			} else if lost == 1 {
				l.s.o.log.Warn().Str("vendor", l.s.vendor).Msg("a call slot had expired while its call ran; taken back")
			}
		}
	}
}

// Release frees the slot at once for every worker. It is safe to call more
// than once and from a context that has ended (it uses its own timeout).
func (l *Lease) Release() {
	l.once.Do(func() {
		close(l.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := l.s.rdb.ZRem(ctx, l.s.key, l.id).Err(); err != nil {
			// The lease expires by itself within its TTL.
			l.s.o.log.Warn().Err(err).Str("vendor", l.s.vendor).Msg("could not release a call slot; it frees itself when its lease expires")
		}
		l.s.mu.Lock()
		close(l.s.wake)
		l.s.wake = make(chan struct{})
		l.s.mu.Unlock()
	})
}

func newLeaseID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
