package redisconn_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/adapt"
	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/redisconn"
	"github.com/ocrbatch/ocrworker/internal/sightings"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// Every Redis operation of ours runs on a real 3-primary Redis Cluster: the
// rate limiter (GCRA script, throttle script on two keys, the state
// pipeline), halts (MULTI on two keys), batch counters (scripts on three
// keys), task sightings, and asynq's client, server and inspector through
// our client and through asynq's own option. A script whose keys hash to
// different slots fails with CROSSSLOT here. (The notification keys are
// tested in internal/notify.)
func TestEverythingOfOursRunsOnCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	opt, rdb, err := redisconn.Open(redisconn.ModeCluster, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("cluster mode gave a %T", rdb)
	}
	ctx := t.Context()

	// Several vendors and batches, so the keys land on different nodes.
	for _, vendor := range []string{"clova", "clova-json", "nhn", "ekyc"} {
		l := ratelimit.New(rdb, vendor, 100, 5, 2)
		for range 3 {
			release, _, err := l.Acquire(ctx)
			if err != nil {
				t.Fatalf("%s: acquire: %v", vendor, err)
			}
			release()
		}
		l.Throttled(ctx, 50*time.Millisecond)
		st, err := l.State(ctx)
		if err != nil {
			t.Fatalf("%s: state: %v", vendor, err)
		}
		if st.Factor >= 1 {
			t.Errorf("%s: factor %v after a throttle, want < 1", vendor, st.Factor)
		}
		if err := l.Halt(ctx, string(ocrerr.QuotaExhausted), time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("%s: halt: %v", vendor, err)
		}
		gate := ratelimit.NewGate(rdb)
		if _, halted, err := gate.Halted(ctx, vendor); err != nil || !halted {
			t.Fatalf("%s: halted = %v, %v", vendor, halted, err)
		}
		if was, err := gate.Resume(ctx, vendor); err != nil || !was {
			t.Fatalf("%s: resume = %v, %v", vendor, was, err)
		}

		// The learned limit and the in-flight leases it caps share one
		// script: their keys must hash to one slot.
		store := adapt.NewRedisStore(rdb, "ocr:", vendor)
		if _, err := store.Update(ctx, func() adapt.State { return adapt.State{RPS: 10, InFlight: 1} }, func(s *adapt.State) { s.InFlight = 1 }); err != nil {
			t.Fatalf("%s: learned update: %v", vendor, err)
		}
		inflight := ratelimit.NewInFlight(rdb, vendor, 0).CapByLearned(adapt.LearnedKey("ocr:", vendor))
		lease, err := inflight.Acquire(ctx, 4)
		if err != nil {
			t.Fatalf("%s: in-flight acquire: %v", vendor, err)
		}
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		if _, err := inflight.Acquire(short, 4); err == nil {
			t.Errorf("%s: a second in-flight slot beyond the learned limit of 1", vendor)
		}
		cancel()
		lease.Release()

		spec, _, err := ratelimit.ParseBudget(10, "day", "Asia/Seoul")
		if err != nil {
			t.Fatal(err)
		}
		if bs, err := ratelimit.NewBudget(rdb, vendor, spec, time.Now).Record(ctx, 1); err != nil || bs.Left != 9 {
			t.Fatalf("%s: budget record = %+v, %v", vendor, bs, err)
		}
	}

	tr := batch.New(rdb, batch.WithRetention(time.Hour))
	for i := range 4 {
		id := fmt.Sprintf("b-%d", i)
		if err := tr.AddSources(ctx, id, "s3://in/a.png", "s3://in/b.png"); err != nil {
			t.Fatalf("%s: add: %v", id, err)
		}
		if err := tr.AddSkipped(ctx, id, 1); err != nil {
			t.Fatalf("%s: skipped: %v", id, err)
		}
		if done, err := tr.Seal(ctx, id); err != nil || done {
			t.Fatalf("%s: seal = %v, %v", id, done, err)
		}
		if _, err := tr.Finish(ctx, id, "s3://in/a.png", batch.StatusSucceeded, ""); err != nil {
			t.Fatalf("%s: finish: %v", id, err)
		}
		done, err := tr.Finish(ctx, id, "s3://in/b.png", batch.StatusFailed, "unreadable_image")
		if err != nil || !done {
			t.Fatalf("%s: last finish = %v, %v; want done", id, done, err)
		}
		st, err := tr.Get(ctx, id)
		if err != nil || st.Succeeded != 1 || st.Failed != 1 || st.Skipped != 1 {
			t.Fatalf("%s: status %+v, %v", id, st, err)
		}
		if f, err := tr.Failures(ctx, id); err != nil || len(f) != 1 || f[0].Code != "unreadable_image" {
			t.Fatalf("%s: failures %v, %v", id, f, err)
		}
		if err := tr.AddOutput(ctx, id, "s3://in/", "s3://out/r/"); err != nil {
			t.Fatalf("%s: add output: %v", id, err)
		}
		if err := tr.AddSkippedSources(ctx, id, []string{"s3://in/c.png"}); err != nil {
			t.Fatalf("%s: skipped sources: %v", id, err)
		}
		// a.png, counted by a worker, belongs to the batch by its result's
		// batch field (resultscan), not by Members: only skipped sources are
		// recorded (batch fmt 2).
		if m, err := tr.Members(ctx, id, []string{"s3://in/a.png", "s3://in/c.png", "s3://in/x.png"}); err != nil || len(m) != 3 || m[0] || !m[1] || m[2] {
			t.Fatalf("%s: members = %v, %v", id, m, err)
		}
	}
	if ids, err := tr.List(ctx, 10); err != nil || len(ids) != 4 {
		t.Fatalf("list = %v, %v", ids, err)
	}
	if err := tr.Delete(ctx, "b-0"); err != nil {
		t.Fatal(err)
	}

	s := sightings.Redis{RDB: rdb, Grace: time.Minute}
	first, err := s.FirstSeen(ctx, "task-1", time.UnixMilli(1000))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.FirstSeen(ctx, "task-1", time.UnixMilli(5000)); err != nil || !again.Equal(first) {
		t.Fatalf("sighting = %v, %v; want %v", again, err, first)
	}

	// asynq through our client (as the binaries use it) and through its
	// own option (as the dashboard does).
	client := asynq.NewClientFromRedisClient(rdb)
	for i := range 20 {
		q := []string{"default", "critical", "backfill"}[i%3]
		if _, err := client.EnqueueContext(ctx, asynq.NewTask("ocr:recognize", []byte("{}")), asynq.Queue(q), asynq.TaskID(fmt.Sprint("t", i))); err != nil {
			t.Fatalf("enqueue: %v", err)
		}
	}
	var handled atomic.Int32
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 4, Queues: map[string]int{"default": 1, "critical": 1, "backfill": 1},
		LogLevel: asynq.ErrorLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("ocr:recognize", func(context.Context, *asynq.Task) error { handled.Add(1); return nil })
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	deadline := time.Now().Add(20 * time.Second)
	for handled.Load() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 tasks handled", handled.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, q := range []string{"default", "critical", "backfill"} {
		qi, err := insp.GetQueueInfo(q)
		if err != nil {
			t.Fatalf("queue %s: %v", q, err)
		}
		if qi.Pending != 0 || qi.Archived != 0 {
			t.Errorf("queue %s: %d pending, %d archived", q, qi.Pending, qi.Archived)
		}
	}
	if _, err := insp.ClusterKeySlot("default"); err != nil {
		t.Errorf("cluster key slot: %v", err)
	}
}

// A Sentinel URL gives a failover client: after the sentinels promote the
// replica, our keys are written to the new primary.
func TestSentinelClientFollowsFailover(t *testing.T) {
	s := testenv.StartRedisSentinel(t)
	_, rdb, err := redisconn.Open(redisconn.ModeSingle, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := t.Context()
	tr := batch.New(rdb)
	if err := tr.AddSources(ctx, "sb", "s3://in/a.png", "s3://in/b.png"); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "WAIT", 1, 2000).Err(); err != nil {
		t.Fatal(err)
	}
	old, err := s.Primary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old.Kill()
	if _, err := s.WaitFailover(ctx, old, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := tr.Finish(ctx, "sb", "s3://in/a.png", batch.StatusSucceeded, "")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("finish after the failover: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, err := tr.Get(ctx, "sb")
	if err != nil || st.Total != 2 || st.Succeeded != 1 {
		t.Fatalf("status after the failover %+v, %v", st, err)
	}
}
