package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the test sentinels monitor the primary by.
const SentinelMaster = "ocr"

// sentinelDownAfter is how long the primary may be unreachable before a
// sentinel counts it as down: short, so a failover test takes seconds.
const sentinelDownAfter = 1500 * time.Millisecond

// RedisSentinel is one primary and one replica watched by three
// redis-sentinel processes (quorum 2), all on loopback ports.
type RedisSentinel struct {
	// Nodes are the primary at start and its replica; roles change with a
	// failover: ask Primary.
	Nodes []*Redis
	// SentinelAddrs are the sentinels' host:port.
	SentinelAddrs []string
	// URL is the redis-sentinel:// URL asynq parses:
	// redis-sentinel://S1,S2,S3?master=ocr
	URL string
	Dir string

	sentinels []*server
}

// StartRedisSentinel starts the servers and sentinels for a test and stops
// them on cleanup. A missing redis-server or redis-sentinel fails the test
// (run `make deps`).
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	s, err := RunRedisSentinel(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, sv := range s.sentinels {
				t.Logf("sentinel %d log tail:\n%s", i, sv.LogTail(10))
			}
		}
		s.Stop()
	})
	return s
}

// RunRedisSentinel starts a primary, a replica of it and three sentinels
// under dir, and waits until the replica is in sync and every sentinel
// knows the replica and the other two sentinels. The caller calls Stop.
func RunRedisSentinel(dir string) (s *RedisSentinel, err error) {
	bin, err := findBinary("redis-sentinel", "REDIS_SENTINEL_BIN")
	if err != nil {
		return nil, err
	}
	s = &RedisSentinel{Dir: dir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	primary, err := newRedis(filepath.Join(dir, "primary"))
	if err != nil {
		return s, err
	}
	if err := primary.start(); err != nil {
		return s, err
	}
	s.Nodes = append(s.Nodes, primary)
	replica, err := newRedis(filepath.Join(dir, "replica"), "--replicaof", "127.0.0.1", portOf(primary.Addr))
	if err != nil {
		return s, err
	}
	if err := replica.start(); err != nil {
		return s, err
	}
	s.Nodes = append(s.Nodes, replica)

	for i := range 3 {
		sdir := filepath.Join(dir, fmt.Sprintf("sentinel%d", i))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return s, err
		}
		port, err := FreePort()
		if err != nil {
			return s, err
		}
		// The sentinel rewrites its config file as it learns, so each has
		// its own, writable.
		conf := filepath.Join(sdir, "sentinel.conf")
		body := fmt.Sprintf(`port %d
bind 127.0.0.1
daemonize no
dir %s
sentinel monitor %s 127.0.0.1 %s 2
sentinel down-after-milliseconds %s %d
sentinel failover-timeout %s 10000
sentinel parallel-syncs %s 1
`, port, sdir, SentinelMaster, portOf(primary.Addr), SentinelMaster, sentinelDownAfter.Milliseconds(), SentinelMaster, SentinelMaster)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			return s, err
		}
		addr := loopback(port)
		sv := &server{name: "redis-sentinel", bin: bin, args: []string{conf}, logPath: filepath.Join(sdir, "sentinel.log")}
		if err := sv.start(); err != nil {
			return s, err
		}
		s.sentinels = append(s.sentinels, sv)
		s.SentinelAddrs = append(s.SentinelAddrs, addr)
		probe := &Redis{Addr: addr}
		if err := sv.waitReady(probe.ping); err != nil {
			return s, err
		}
	}
	s.URL = "redis-sentinel://" + strings.Join(s.SentinelAddrs, ",") + "?master=" + SentinelMaster

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.waitSettled(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// Stop shuts the sentinels and servers down; calling it twice is fine.
func (s *RedisSentinel) Stop() {
	for _, sv := range s.sentinels {
		sv.stop()
	}
	for _, n := range s.Nodes {
		n.Stop()
	}
}

// waitSettled waits until the replica is in sync with the primary and every
// sentinel sees the primary, the replica and the two other sentinels: only
// then can they agree on a failover.
func (s *RedisSentinel) waitSettled(ctx context.Context) error {
	var last error
	for {
		if last = s.settled(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sentinels not settled: %v", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *RedisSentinel) settled(ctx context.Context) error {
	for _, addr := range s.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
		replicas, err := sc.Replicas(ctx, SentinelMaster).Result()
		if err == nil && len(replicas) < len(s.Nodes)-1 {
			err = fmt.Errorf("sentinel %s knows %d replicas", addr, len(replicas))
		}
		if err == nil {
			var others []map[string]string
			if others, err = sc.Sentinels(ctx, SentinelMaster).Result(); err == nil && len(others) < len(s.SentinelAddrs)-1 {
				err = fmt.Errorf("sentinel %s knows %d other sentinels", addr, len(others))
			}
		}
		sc.Close()
		if err != nil {
			return err
		}
	}
	p, err := s.Primary(ctx)
	if err != nil {
		return err
	}
	for _, n := range s.Nodes {
		if n == p || !n.Running() {
			continue
		}
		repl, err := nodeCmd(ctx, n, func(r *redis.Client) (string, error) { return r.Info(ctx, "replication").Result() })
		if err != nil {
			return err
		}
		if !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("replica %s not in sync yet", n.Addr)
		}
	}
	return nil
}

// Primary returns the node a majority of the running sentinels name as
// the primary now.
func (s *RedisSentinel) Primary(ctx context.Context) (*Redis, error) {
	votes := map[string]int{}
	for _, addr := range s.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
		hp, err := sc.GetMasterAddrByName(ctx, SentinelMaster).Result()
		sc.Close()
		if err == nil && len(hp) == 2 {
			votes[hp[0]+":"+hp[1]]++
		}
	}
	for addr, v := range votes {
		if v*2 > len(s.SentinelAddrs) {
			for _, n := range s.Nodes {
				if n.Addr == addr {
					return n, nil
				}
			}
			return nil, fmt.Errorf("primary %s is not a node of this setup", addr)
		}
	}
	return nil, errors.New("the sentinels do not agree on a primary")
}

// ReplicaOf returns a running replica of primary p.
func (s *RedisSentinel) ReplicaOf(ctx context.Context, p *Redis) (*Redis, error) {
	return replicaOf(ctx, s.Nodes, p)
}

// WaitFailover waits until the sentinels name a running primary other
// than old, which says it is a primary, and returns it.
func (s *RedisSentinel) WaitFailover(ctx context.Context, old *Redis, timeout time.Duration) (*Redis, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		p, err := s.Primary(ctx)
		if err == nil && p != old && p.Running() {
			repl, rerr := nodeCmd(ctx, p, func(r *redis.Client) (string, error) { return r.Info(ctx, "replication").Result() })
			if rerr == nil && strings.Contains(repl, "role:master") {
				return p, nil
			}
			err = rerr
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no failover within %s (last: %v)", timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SentinelLogTail returns the last n lines of sentinel i's log.
func (s *RedisSentinel) SentinelLogTail(i, n int) string { return s.sentinels[i].LogTail(n) }

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	if _, err := strconv.Atoi(p); err != nil {
		return ""
	}
	return p
}
