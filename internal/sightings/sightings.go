// Package sightings records on Redis when a task was first met by a worker
// that could not read it (tasks.Sightings), so worker.unknownGrace counts
// from that moment on every worker and across restarts.
package sightings

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps one key per task ID (a hash, never an object key), expiring
// after twice the grace.
type Redis struct {
	RDB   redis.UniversalClient
	Grace time.Duration
}

// FirstSeen implements tasks.Sightings.
func (s Redis) FirstSeen(ctx context.Context, id string, now time.Time) (time.Time, error) {
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
