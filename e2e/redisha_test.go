package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// Redis failover tests (issue #14 item 4): the real binaries on a Redis
// Cluster (3 primaries, 3 replicas) and on Sentinel (a primary, a replica,
// three sentinels). While a batch runs, the primary holding the queue is
// killed with SIGKILL and its replica takes over.
//
// Replication is asynchronous: the primary acknowledges a write before any
// replica has it. To make that window certain rather than lucky, the
// replica is frozen (SIGSTOP) and cut off while a last part of the batch
// is enqueued and workers go on, then the primary is killed and the
// replica thawed:
// the promoted replica has lost those enqueues, task state changes and
// completions. What asynq does with that: a task whose dequeue was lost
// runs again (it finds its result; no second vendor call), a completion
// lost leaves the task "active" until asynq's lease recovery runs it again,
// and a lost enqueue is gone. The documented repair is to enqueue the same
// source again: task IDs are deterministic and current results are skipped,
// so it enqueues exactly the documents without a result.

// failoverConfig keeps the batch running for several seconds (emulator
// latency, few tasks in flight) so the kill lands in its middle.
var failoverConfig = faultConfig{RPS: 500, Burst: 100, Concurrency: 4, Workers: 4, MaxRetry: 5}.String()

func TestFailoverRedisCluster(t *testing.T) {
	s := newStack(t, stack.Options{Redis: "cluster", EmulatorArgs: []string{"--latency", "150ms"}, Config: failoverConfig})
	// Every key of the queue shares the hash tag {default}.
	const queueKey = "asynq:{default}:pending"
	runFailover(t, s, func(ctx context.Context) (primary, replica *testenv.Redis, err error) {
		if primary, err = s.Cluster.PrimaryOf(ctx, queueKey); err != nil {
			return nil, nil, err
		}
		replica, err = s.Cluster.ReplicaOf(ctx, primary)
		return primary, replica, err
	}, func(ctx context.Context, old *testenv.Redis) (*testenv.Redis, error) {
		return s.Cluster.WaitFailover(ctx, queueKey, old, time.Minute)
	}, func(frozen *testenv.Redis) []string {
		// A cluster client learns the slot map from a seed it picks at
		// random; a frozen seed accepts the connection and never answers,
		// which would hold the late enqueue for the read timeout. Its
		// config names the other five nodes only.
		var seeds []string
		for _, n := range s.Cluster.Nodes {
			if n != frozen {
				seeds = append(seeds, n.Addr)
			}
		}
		url := "redis://" + seeds[0] + "?addr=" + strings.Join(seeds[1:], "&addr=")
		cfg, err := os.ReadFile(s.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "late.yaml")
		if err := os.WriteFile(path, bytes.ReplaceAll(cfg, []byte(s.RedisURL), []byte(url)), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"--config", path}
	})
}

func TestFailoverRedisSentinel(t *testing.T) {
	s := newStack(t, stack.Options{Redis: "sentinel", EmulatorArgs: []string{"--latency", "150ms"}, Config: failoverConfig})
	runFailover(t, s, func(ctx context.Context) (primary, replica *testenv.Redis, err error) {
		if primary, err = s.Sentinel.Primary(ctx); err != nil {
			return nil, nil, err
		}
		replica, err = s.Sentinel.ReplicaOf(ctx, primary)
		return primary, replica, err
	}, func(ctx context.Context, old *testenv.Redis) (*testenv.Redis, error) {
		return s.Sentinel.WaitFailover(ctx, old, time.Minute)
	}, nil) // the failover client talks to the sentinels and the primary only
}

// runFailover: 300 documents; two thirds are enqueued and running when the
// replica is frozen, the last third is enqueued into the primary alone,
// the primary is killed and the replica promoted. Once the queue has
// settled, the repair runs, and every document must have one correct
// result.
func runFailover(t *testing.T, s *stack.Stack,
	roles func(context.Context) (primary, replica *testenv.Redis, err error),
	waitFailover func(context.Context, *testenv.Redis) (*testenv.Redis, error),
	lateArgs func(frozen *testenv.Redis) []string) {
	const n = 300
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n) // docs/0000.png ... docs/0299.png
	startWorkers(t, s, 2)
	enqueue := func(extra []string, batch string, sources ...string) (int, int) {
		args := append([]string{"enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "--batch", batch}, extra...)
		args = append(args, sources...)
		enq, skip, _ := enqueuedLine(t, producer(t, s, 0, args...))
		return enq, skip
	}
	objects := func(from, to int) []string {
		var uris []string
		for i := from; i < to; i++ {
			uris = append(uris, fmt.Sprintf("s3://inbox/docs/%04d.png", i))
		}
		return uris
	}
	if got, _ := enqueue(nil, "ha", objects(0, 200)...); got != 200 {
		t.Fatalf("enqueued %d, want 200", got)
	}
	waitResults(t, out, "r/", 50, time.Minute)

	ctx := t.Context()
	primary, replica, err := roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var extra []string
	if lateArgs != nil {
		extra = lateArgs(replica)
	}
	replica.Freeze()
	frozen := time.Now()
	if err := primary.DropReplicaLinks(ctx); err != nil {
		replica.Thaw()
		t.Fatal(err)
	}
	late, _ := enqueue(extra, "ha-late", objects(200, n)...)
	time.Sleep(300 * time.Millisecond) // workers take some of them too
	written := countResults(t, out, "r/")
	primary.Kill()
	killed := time.Now()
	replica.Thaw()
	t.Logf("replica %s frozen %s: %d more documents enqueued, primary %s killed with %d of %d results written",
		replica.Addr, time.Since(frozen).Round(time.Millisecond), late, primary.Addr, written, n)
	start := time.Now()
	nw, err := waitFailover(ctx, primary)
	if err != nil {
		t.Fatalf("failover: %v", err)
	}
	t.Logf("%s took over after %s", nw.Addr, time.Since(start).Round(time.Millisecond))

	// The documented repair, right after the failover: enqueue the same
	// source again (as its own batch here, so its counts are plain). A
	// document whose task survived is refused as a duplicate, one with a
	// current result is skipped; what is left had its task lost.
	without := n - countResults(t, out, "r/")
	repaired, skipped := enqueue(nil, "ha-repair", "s3://inbox/docs/")
	t.Logf("repair: %d of %d documents needed it (%d skipped: a current result or a task still queued; %d had no result yet)", repaired, n, skipped, without)
	if repaired < 1 || repaired > without || repaired+skipped > n {
		t.Errorf("repair enqueued %d and skipped %d of %d documents, %d without a result; want 1..%d enqueued",
			repaired, skipped, n, without, without)
	}
	waitResults(t, out, "r/", n, 2*time.Minute)

	// A completion the new primary never saw leaves its task "active"
	// until asynq's recoverer takes it back: lease expired more than 30 s
	// ago, checked at server start and every minute. A worker started past
	// that point recovers them at once.
	drained := func() (bool, error) {
		qi, err := s.QueueInfo("default")
		return err == nil && qi.Pending+qi.Active+qi.Retry+qi.Scheduled == 0, nil
	}
	if stack.WaitFor(ctx, "the queue to drain", time.Until(killed.Add(61*time.Second)), time.Second, drained) != nil {
		startWorkers(t, s, 1)
	}
	// A document may cost a second vendor call: it was in its call at the
	// kill, or its task ran again after the failover lost its completion
	// before the result was written.
	checkBatch(t, s, out, "r/", images, 3)
	err = stack.WaitFor(ctx, "the repair batch to finish", time.Minute, 500*time.Millisecond, func() (bool, error) {
		st, _, code, err := s.Run(ctx, "producer", "status", "ha-repair")
		return err == nil && code == 0 && strings.Contains(st, fmt.Sprintf("succeeded %d", repaired)), err
	})
	if err != nil {
		t.Error(err)
	}
}
