package testenv_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// The cluster serves every slot through one client, and when the primary
// of a key is killed its replica takes over with the key (written, then
// given time to replicate).
func TestRedisClusterFailover(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	opt, err := redis.ParseClusterURL(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.Addrs) != 6 {
		t.Fatalf("URL %s names %d nodes, want 6", c.URL, len(opt.Addrs))
	}
	opt.ClusterStateReloadInterval = time.Second // see redisconn.ClusterStateReload
	rdb := redis.NewClusterClient(opt)
	defer rdb.Close()
	ctx := t.Context()
	for _, k := range []string{"a", "b", "c", "{x}1", "{x}2"} {
		if err := rdb.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	old, err := c.PrimaryOf(ctx, "{x}1")
	if err != nil {
		t.Fatal(err)
	}
	// WAIT: the replica has the write before the primary dies.
	if n, err := rdb.Do(ctx, "WAIT", 1, 2000).Int(); err != nil {
		t.Logf("WAIT: %d %v", n, err)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	old.Kill()
	nw, err := c.WaitFailover(ctx, "{x}1", old, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("primary of {x} moved from %s to %s in %s", old.Addr, nw.Addr, time.Since(start).Round(time.Millisecond))
	for _, k := range []string{"a", "b", "c", "{x}1", "{x}2"} {
		if got, err := rdb.Get(ctx, k).Result(); err != nil || got != k {
			t.Errorf("GET %s after the failover = %q, %v", k, got, err)
		}
	}
}

// Three sentinels elect the replica when the primary is killed, and a
// failover client follows.
func TestRedisSentinelFailover(t *testing.T) {
	s := testenv.StartRedisSentinel(t)
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: testenv.SentinelMaster, SentinelAddrs: s.SentinelAddrs})
	defer rdb.Close()
	ctx := t.Context()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "WAIT", 1, 2000).Err(); err != nil {
		t.Fatal(err)
	}
	old, err := s.Primary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	old.Kill()
	nw, err := s.WaitFailover(ctx, old, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("primary moved from %s to %s in %s", old.Addr, nw.Addr, time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := rdb.Get(ctx, "k").Result()
		if err == nil && got == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET k after the failover = %q, %v", got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := rdb.Set(ctx, "k2", "v2", 0).Err(); err != nil {
		t.Errorf("SET after the failover: %v", err)
	}
}
