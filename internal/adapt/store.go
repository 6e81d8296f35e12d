package adapt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store holds the fleet's learned State of one vendor account.
type Store interface {
	// Load returns the stored state; ok is false if nothing is stored.
	Load(ctx context.Context) (s State, ok bool, err error)
	// Update applies fn to the stored state (init() if none) atomically with
	// respect to every other Update, and returns the result.
	Update(ctx context.Context, init func() State, fn func(*State)) (State, error)
}

// MemStore is a Store in memory: one process, or a simulation.
type MemStore struct {
	mu sync.Mutex
	s  *State
}

func (m *MemStore) Load(context.Context) (State, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s == nil {
		return State{}, false, nil
	}
	return *m.s, true, nil
}

func (m *MemStore) Update(_ context.Context, init func() State, fn func(*State)) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.s == nil {
		s := init()
		m.s = &s
	}
	fn(m.s)
	return *m.s, nil
}

// RedisStore keeps the state as JSON in one key per vendor account,
// "<prefix>rl:{<vendor>}:learned" (the vendor's hash tag, so it shares the
// Redis Cluster slot of the vendor's other keys). Updates are optimistic
// transactions (WATCH/MULTI): a worker whose update raced another's reads
// the new state and applies its events again.
//
// The key expires a week after the last update: a fleet that comes back
// within a week starts at what it learned; one that was gone longer starts
// over, since the vendor's plan may have changed.
type RedisStore struct {
	rdb redis.UniversalClient
	key string
	ttl time.Duration
}

// LearnedTTL is how long a fleet's estimate outlives its last update.
const LearnedTTL = 7 * 24 * time.Hour

// NewRedisStore returns the store of vendor's learned limits under prefix
// (the workers' key prefix, default "ocr:").
func NewRedisStore(rdb redis.UniversalClient, prefix, vendor string) *RedisStore {
	return &RedisStore{rdb: rdb, key: LearnedKey(prefix, vendor), ttl: LearnedTTL}
}

// LearnedKey is the Redis key of vendor's learned limits.
func LearnedKey(prefix, vendor string) string { return prefix + "rl:{" + vendor + "}:learned" }

func (r *RedisStore) Load(ctx context.Context) (State, bool, error) {
	b, err := r.rdb.Get(ctx, r.key).Bytes()
	if errors.Is(err, redis.Nil) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("adapt: read learned limits: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		// A state from an incompatible version: start over rather than fail.
		return State{}, false, nil
	}
	return s, true, nil
}

func (r *RedisStore) Update(ctx context.Context, init func() State, fn func(*State)) (State, error) {
	var out State
	for attempt := 0; attempt < 20; attempt++ {
		err := r.rdb.Watch(ctx, func(tx *redis.Tx) error {
			b, err := tx.Get(ctx, r.key).Bytes()
			s := State{}
			switch {
			case errors.Is(err, redis.Nil):
				s = init()
			case err != nil:
				return err
			default:
				if json.Unmarshal(b, &s) != nil {
					s = init()
				}
			}
			fn(&s)
			nb, err := json.Marshal(s)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, r.key, nb, r.ttl)
				return nil
			})
			out = s
			return err
		}, r.key)
		if errors.Is(err, redis.TxFailedErr) {
			continue // another worker updated it first: apply again to its state
		}
		if err != nil {
			return State{}, fmt.Errorf("adapt: update learned limits: %w", err)
		}
		return out, nil
	}
	return State{}, errors.New("adapt: update learned limits: too much contention")
}
