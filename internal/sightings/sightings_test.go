package sightings

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// Two workers (two clients) agree on a task's first sighting; another task
// has its own.
func TestSightingsFirstSeenIsShared(t *testing.T) {
	r := testenv.StartRedis(t)
	a := Redis{RDB: redis.NewClient(&redis.Options{Addr: r.Addr}), Grace: time.Minute}
	b := Redis{RDB: redis.NewClient(&redis.Options{Addr: r.Addr}), Grace: time.Minute}
	t0 := time.UnixMilli(time.Now().UnixMilli())
	if got, err := a.FirstSeen(t.Context(), "ocr-1", t0); err != nil || !got.Equal(t0) {
		t.Fatalf("first: %v %v", got, err)
	}
	if got, err := b.FirstSeen(t.Context(), "ocr-1", t0.Add(5*time.Second)); err != nil || !got.Equal(t0) {
		t.Errorf("second worker: %v %v, want %v", got, err, t0)
	}
	if got, _ := b.FirstSeen(t.Context(), "ocr-2", t0.Add(time.Second)); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("another task: %v", got)
	}
	if ttl := a.RDB.PTTL(t.Context(), "ocr:unknown:{ocr-1}").Val(); ttl <= time.Minute || ttl > 2*time.Minute {
		t.Errorf("ttl %v, want about twice the grace", ttl)
	}
}
