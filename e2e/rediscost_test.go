package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestRedisCostPerDocument measures what one document costs Redis (issue
// #14 item 5, the README's sizing guide): commands from INFO commandstats,
// for the producer's enqueue and for the whole run, and bytes from INFO
// memory while the documents are pending and once they are finished
// (MEMORY USAGE of every key; see keyMemory). The bounds are about twice
// the figures measured when the test was written (producer 4.8 commands,
// worker 35 commands, 583 bytes pending, 46 bytes finished per document),
// so a regression shows while noise does not.
func TestRedisCostPerDocument(t *testing.T) {
	const n = 50
	s := newStack(t, stack.Options{Config: faultConfig{RPS: 500, Burst: 100, Concurrency: 8, Workers: 8, MaxRetry: 3}.String()})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	images := docs(t, in, n)
	rdb, err := s.RedisClient()
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()

	// A first document through the whole pipeline loads the Lua scripts and
	// creates the queues and daily counters: fixed costs, not per document.
	warm := bucket(t, s, "warm")
	put(t, warm, "w.png", testimages.PNG(1, 12, 12, nil)) // an image of its own: checkBatch counts vendor calls by image
	w0 := startWorkers(t, s, 1)[0]
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://warm/r/", "--batch", "warm", "s3://warm/w.png")
	waitResults(t, warm, "r/", 1, time.Minute)
	w0.Stop()

	empty, emptyUsed := keyMemory(t, rdb)
	resetStats(t, rdb)
	enqueueDocs(t, s, "cost", n)
	producerCmds, producerBy := commandStats(t, rdb)
	pending, pendingUsed := keyMemory(t, rdb)
	pending -= empty

	resetStats(t, rdb)
	start := time.Now()
	w := startWorkers(t, s, 1)[0]
	waitResults(t, out, "r/", n, time.Minute)
	checkBatch(t, s, out, "r/", images, 1)
	w.Stop() // a stopped worker's heartbeat keys go with it
	took := time.Since(start)
	workerCmds, workerBy := commandStats(t, rdb)

	// An idle worker polls its queues and beats its heartbeat all along;
	// measured apart, so the per-document figure does not depend on how
	// long the run took.
	idle := startWorkers(t, s, 1)[0]
	time.Sleep(2 * time.Second) // start-up commands out of the window
	resetStats(t, rdb)
	const idleFor = 5 * time.Second
	time.Sleep(idleFor)
	idleCmds, _ := commandStats(t, rdb)
	idle.Stop()
	idlePerSec := float64(idleCmds) / idleFor.Seconds()
	perDocWorker := (float64(workerCmds) - idlePerSec*took.Seconds()) / n

	finished, finishedUsed := keyMemory(t, rdb)
	finished -= empty
	t.Logf("Redis commands: producer %.1f per document (%s)", float64(producerCmds)/n, top(producerBy, 6))
	t.Logf("Redis commands: worker %.1f per document over a %s run, %.1f of them for the document once an idle worker's %.1f/s are taken out (%s)",
		float64(workerCmds)/n, took.Round(100*time.Millisecond), perDocWorker, idlePerSec, top(workerBy, 8))
	t.Logf("Redis commands: total %.1f per document (producer + worker, idle polling out)", float64(producerCmds)/n+perDocWorker)
	t.Logf("Redis memory: %d bytes per pending document, %d bytes per finished document (MEMORY USAGE of every key above the warmed-up server: %d, then %d; INFO used_memory moved by %+d, then %+d)",
		pending/n, finished/n, pending, finished, pendingUsed-emptyUsed, finishedUsed-emptyUsed)

	for _, c := range []struct {
		what      string
		got, most float64
	}{
		{"producer commands per document", float64(producerCmds) / n, 12},
		{"worker commands per document (idle polling out)", perDocWorker, 80},
		{"bytes per pending document", float64(pending) / n, 1200},
		{"bytes per finished document", float64(finished) / n, 100},
	} {
		if c.got > c.most {
			t.Errorf("%s: %.1f, want at most %.0f (about twice the measured figure)", c.what, c.got, c.most)
		}
	}
	if producerCmds < n || perDocWorker <= 0 {
		t.Errorf("producer %d commands, worker %.1f per document: the measurement saw nothing", producerCmds, perDocWorker)
	}
}

// resetStats zeroes INFO commandstats; the CONFIG RESETSTAT and the INFO
// that reads them are left out of the counts.
func resetStats(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// commandStats returns the calls since the last reset, in all and by
// command, leaving out the test's own INFO and CONFIG.
func commandStats(t *testing.T, rdb redis.UniversalClient) (int64, map[string]int64) {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]int64{}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_evalsha:calls=12,usec=345,...
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		if name == "info" || strings.HasPrefix(name, "config") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		c, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			t.Fatalf("commandstats line %q: %v", line, err)
		}
		by[name] = c
		total += c
	}
	return total, by
}

// keyMemory is what every key takes, MEMORY USAGE (exact, SAMPLES 0)
// summed over a SCAN, and INFO memory's used_memory for reference. The
// key sum is the figure to size with: used_memory moves by hundreds of
// kilobytes for reasons of its own (a 50-document batch once "freed"
// 400 KB of a warmed-up server's used_memory while its keys grew by 29 KB).
func keyMemory(t *testing.T, rdb redis.UniversalClient) (keys, used int64) {
	t.Helper()
	ctx := context.Background()
	it := rdb.Scan(ctx, 0, "*", 500).Iterator()
	for it.Next(ctx) {
		n, err := rdb.MemoryUsage(ctx, it.Val(), 0).Result()
		if err != nil && err != redis.Nil { // a key may expire between SCAN and MEMORY USAGE
			t.Fatal(err)
		}
		keys += n
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			used, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return keys, used
}

// top lists the most called commands, e.g. "evalsha 120, hset 50".
func top(by map[string]int64, k int) string {
	names := make([]string, 0, len(by))
	for name := range by {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return by[names[i]] > by[names[j]] || by[names[i]] == by[names[j]] && names[i] < names[j]
	})
	var parts []string
	for i, name := range names {
		if i == k {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, by[name]))
	}
	return strings.Join(parts, ", ")
}
