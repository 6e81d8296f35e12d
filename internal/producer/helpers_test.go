package producer

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

const testConfig = `
redis: {url: redis://unused}
vendors:
  clova: {kind: clova-ocr, url: https://emulator/clova-ocr}
routes: {receipt: clova}
schedules:
  - {name: nightly, cron: "0 2 * * *", source: s3://inbox/backlog/, type: receipt, out: s3://outbox/results/}
`

func testCfg(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// redisOpt starts a real redis-server for the test.
func redisOpt(t *testing.T) asynq.RedisClientOpt {
	t.Helper()
	return asynq.RedisClientOpt{Addr: testenv.StartRedis(t).Addr}
}

func putObj(t *testing.T, b storage.Bucket, key string, data []byte, meta map[string]string) storage.ObjectInfo {
	t.Helper()
	info, err := b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// countingStore counts HEADs and LISTs per bucket, to prove which calls the
// producer makes.
type countingStore struct {
	storage.Store
	heads, lists map[string]*atomic.Int64
}

func newCountingStore(s storage.Store, buckets ...string) *countingStore {
	c := &countingStore{Store: s, heads: map[string]*atomic.Int64{}, lists: map[string]*atomic.Int64{}}
	for _, b := range buckets {
		c.heads[b], c.lists[b] = new(atomic.Int64), new(atomic.Int64)
	}
	return c
}

func (c *countingStore) Bucket(name string) storage.Bucket {
	return countingBucket{Bucket: c.Store.Bucket(name), heads: c.heads[name], lists: c.lists[name]}
}

type countingBucket struct {
	storage.Bucket
	heads, lists *atomic.Int64
}

func (b countingBucket) Head(ctx context.Context, key string) (storage.ObjectInfo, error) {
	b.heads.Add(1)
	return b.Bucket.Head(ctx, key)
}

func (b countingBucket) List(ctx context.Context, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	b.lists.Add(1)
	return b.Bucket.List(ctx, prefix, startAfter, fn)
}
