package batch

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// A finished batch's keys expire after the retention and leave the index;
// a running one keeps its keys; reopening a finished batch keeps it again.
func TestFinishedBatchesExpire(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.StartRedis(t).Addr})
	t.Cleanup(func() { rdb.Close() })
	tr := New(rdb, WithRetention(time.Hour))

	for _, id := range []string{"done-1", "running-1"} {
		mustNil(t, tr.AddSources(ctx, id, "s3://in/a.jpg", "s3://in/b.jpg"))
		mustFinish(t, tr, id, "s3://in/a.jpg", StatusSucceeded, "")
		mustFinish(t, tr, id, "s3://in/b.jpg", StatusFailed, "invalid_image")
		mustNil(t, tr.AddOutput(ctx, id, "s3://in/", "s3://out/"))
		mustNil(t, tr.AddSkippedSources(ctx, id, []string{"s3://in/c.jpg"}))
	}
	if _, err := tr.Seal(ctx, "done-1"); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys("done-1") {
		ttl, err := rdb.PTTL(ctx, k).Result()
		if ttl == -2 {
			continue // not used by this batch (an empty hash does not exist)
		}
		if err != nil || ttl <= 0 || ttl > time.Hour {
			t.Errorf("%s: ttl %v %v, want up to 1h", k, ttl, err)
		}
	}
	for _, k := range keys("running-1") {
		if ttl, _ := rdb.PTTL(ctx, k).Result(); ttl != -1 && ttl != -2 {
			t.Errorf("%s (running): ttl %v, want none", k, ttl)
		}
	}
	// Reopened by another enqueue: kept until it finishes again.
	mustNil(t, tr.AddSources(ctx, "done-1", "s3://in/c.jpg"))
	if ttl, _ := rdb.PTTL(ctx, keys("done-1")[0]).Result(); ttl != -1 {
		t.Errorf("reopened batch: ttl %v, want none", ttl)
	}
	mustFinish(t, tr, "done-1", "s3://in/c.jpg", StatusSucceeded, "")
	if _, err := tr.Seal(ctx, "done-1"); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := rdb.PTTL(ctx, keys("done-1")[kFailures]).Result(); ttl <= 0 {
		t.Errorf("finished again: failures ttl %v, want one", ttl)
	}

	// Once the keys are gone, the index forgets the batch on the next add.
	rdb.Del(ctx, keys("done-1")...)
	tr.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	mustNil(t, tr.AddSources(ctx, "later-1", "s3://in/d.jpg"))
	ids, err := tr.List(ctx, 0)
	mustNil(t, err)
	if len(ids) != 2 || ids[0] != "later-1" || ids[1] != "running-1" {
		t.Errorf("index %v, want [later-1 running-1]", ids)
	}
	if _, err := tr.Get(ctx, "done-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired batch: %v", err)
	}
}
