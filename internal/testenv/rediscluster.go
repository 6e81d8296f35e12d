package testenv

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterNodeTimeout is how long a cluster node may be unreachable before
// the others count it as failed and promote its replica. Short, so a
// failover test takes seconds, yet far above a busy machine's hiccups.
const clusterNodeTimeout = 2000 * time.Millisecond

// RedisCluster is a Redis Cluster of three primaries, each with one
// replica, on loopback ports: six redis-server processes with AOF on.
type RedisCluster struct {
	// Nodes are the six servers. Which ones are primaries changes with
	// failovers; ask PrimaryOf.
	Nodes []*Redis
	// URL is go-redis's cluster URL naming every node as a seed:
	// redis://127.0.0.1:P0?addr=127.0.0.1:P1&addr=...
	URL string
	Dir string
}

// StartRedisCluster starts a cluster for a test and stops it on cleanup.
// A missing redis-server or redis-cli fails the test (run `make deps`).
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	c, err := RunRedisCluster(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, n := range c.Nodes {
				t.Logf("cluster node %d (%s) log tail:\n%s", i, n.Addr, n.LogTail(10))
			}
		}
		c.Stop()
	})
	return c
}

// RunRedisCluster starts six cluster-enabled servers under dir, joins them
// with `redis-cli --cluster create --cluster-replicas 1`, and waits until
// every slot is served and every replica is in sync. The caller calls Stop.
func RunRedisCluster(dir string) (c *RedisCluster, err error) {
	cli, err := findBinary("redis-cli", "REDIS_CLI_BIN")
	if err != nil {
		return nil, err
	}
	c = &RedisCluster{Dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	var addrs []string
	for i := range 6 {
		n, err := newRedis(filepath.Join(dir, fmt.Sprintf("node%d", i)),
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", fmt.Sprint(clusterNodeTimeout.Milliseconds()),
			// A replica takes over however long it was cut off: in a test
			// the point is that it does.
			"--cluster-replica-validity-factor", "0",
		)
		if err != nil {
			return c, err
		}
		if err := n.start(); err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		return c, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.URL = "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// Stop shuts every node down; calling it twice is fine.
func (c *RedisCluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// WaitHealthy waits until every running node reports cluster_state:ok with
// all 16384 slots served, and every running replica's link to its primary
// is up.
func (c *RedisCluster) WaitHealthy(ctx context.Context) error {
	var last error
	for {
		if last = c.healthy(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster not healthy: %v", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *RedisCluster) healthy(ctx context.Context) error {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		info, err := nodeCmd(ctx, n, func(r *redis.Client) (string, error) { return r.ClusterInfo(ctx).Result() })
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			return fmt.Errorf("%s: cluster not ok yet", n.Addr)
		}
		repl, err := nodeCmd(ctx, n, func(r *redis.Client) (string, error) { return r.Info(ctx, "replication").Result() })
		if err != nil {
			return err
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("%s: replica not in sync yet", n.Addr)
		}
	}
	return nil
}

// PrimaryOf returns the node that is primary for key's hash slot now, as
// the running nodes see it.
func (c *RedisCluster) PrimaryOf(ctx context.Context, key string) (*Redis, error) {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		addr, err := nodeCmd(ctx, n, func(r *redis.Client) (string, error) {
			slot, err := r.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				return "", err
			}
			ranges, err := r.ClusterSlots(ctx).Result()
			if err != nil {
				return "", err
			}
			for _, s := range ranges {
				if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
					return s.Nodes[0].Addr, nil
				}
			}
			return "", fmt.Errorf("slot %d has no primary", slot)
		})
		if err != nil {
			continue // this node may not know yet; ask the next
		}
		for _, m := range c.Nodes {
			if m.Addr == addr {
				return m, nil
			}
		}
		return nil, fmt.Errorf("primary %s is not a node of this cluster", addr)
	}
	return nil, errors.New("no running node answers")
}

// ReplicaOf returns a running replica of primary p.
func (c *RedisCluster) ReplicaOf(ctx context.Context, p *Redis) (*Redis, error) {
	return replicaOf(ctx, c.Nodes, p)
}

func replicaOf(ctx context.Context, nodes []*Redis, p *Redis) (*Redis, error) {
	for _, n := range nodes {
		if n == p || !n.Running() {
			continue
		}
		repl, err := nodeCmd(ctx, n, func(r *redis.Client) (string, error) { return r.Info(ctx, "replication").Result() })
		if err == nil && strings.Contains(repl, "role:slave") && strings.Contains(repl, "master_port:"+portOf(p.Addr)+"\r\n") {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no running replica of %s", p.Addr)
}

// WaitFailover waits until key's slot is served by a primary other than
// old and the cluster is healthy again, and returns the new primary.
func (c *RedisCluster) WaitFailover(ctx context.Context, key string, old *Redis, timeout time.Duration) (*Redis, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		p, err := c.PrimaryOf(ctx, key)
		if err == nil && p != old && p.Running() && c.healthy(ctx) == nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no failover within %s (last: %v, primary %v)", timeout, err, p)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nodeCmd runs f on a short-lived client of node n alone.
func nodeCmd(ctx context.Context, n *Redis, f func(*redis.Client) (string, error)) (string, error) {
	r := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	defer r.Close()
	return f(r)
}
