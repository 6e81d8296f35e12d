package testenv_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

func TestRedisRestartKeepsData(t *testing.T) {
	r := testenv.StartRedis(t)
	opts, err := redis.ParseURL(r.URL)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", r.URL, err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	ctx := t.Context()

	if err := client.Set(ctx, "survivor", "still here", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if err := client.RPush(ctx, "queue", "a", "b", "c").Err(); err != nil {
		t.Fatalf("RPUSH: %v", err)
	}
	if err := r.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if got, err := client.Get(ctx, "survivor").Result(); err != nil || got != "still here" {
		t.Errorf("GET after restart = %q, %v; want %q", got, err, "still here")
	}
	if got, err := client.LRange(ctx, "queue", 0, -1).Result(); err != nil || len(got) != 3 || got[2] != "c" {
		t.Errorf("LRANGE after restart = %v, %v; want [a b c]", got, err)
	}

	r.Stop()
	if err := client.Ping(ctx).Err(); err == nil {
		t.Error("PING succeeded after Stop")
	}
	r.Stop() // idempotent
}

func TestMinIORestartKeepsObjects(t *testing.T) {
	m := testenv.StartMinIO(t)
	b := m.NewBucket(t, "restart-test")
	ctx := t.Context()
	body := []byte("an object that must survive a restart")
	if _, err := b.Put(ctx, "dir/keep.txt", bytes.NewReader(body), int64(len(body)), storage.PutOptions{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := m.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	rc, _, err := b.Get(ctx, "dir/keep.txt")
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("after restart read %q, %v; want %q", got, err, body)
	}

	m.Stop()
	_, err = b.Head(ctx, "dir/keep.txt")
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Head with MinIO stopped: error = %v, want a connection error", err)
	}
	if !storage.IsTransient(err) {
		t.Errorf("IsTransient(%v) = false for a stopped server", err)
	}
}

func TestMissingBinaryIsAnError(t *testing.T) {
	t.Setenv("MINIO_BIN", "/nonexistent/minio")
	if _, err := testenv.RunMinIO(t.TempDir()); !errors.Is(err, testenv.ErrBinaryMissing) {
		t.Errorf("RunMinIO with a bad MINIO_BIN: error = %v, want ErrBinaryMissing", err)
	}
	t.Setenv("REDIS_SERVER_BIN", "/nonexistent/redis-server")
	if _, err := testenv.RunRedis(t.TempDir()); !errors.Is(err, testenv.ErrBinaryMissing) {
		t.Errorf("RunRedis with a bad REDIS_SERVER_BIN: error = %v, want ErrBinaryMissing", err)
	}
}
