package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
)

func scheduler(t *testing.T, opt asynq.RedisClientOpt, log zerolog.Logger) *Scheduler {
	t.Helper()
	c := asynq.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return &Scheduler{Client: c, Schedules: testCfg(t).Schedules, Log: log, MaxRetry: 3}
}

// scans lists the scan tasks in a queue, by batch name.
func scans(t *testing.T, insp *asynq.Inspector, queue string, list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)) map[string]int {
	t.Helper()
	infos, err := list(queue, asynq.PageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, ti := range infos {
		var s layout.Scan
		if ti.Type != layout.TypeScan || json.Unmarshal(ti.Payload, &s) != nil {
			t.Fatalf("unexpected task %s %s", ti.Type, ti.Payload)
		}
		got[s.Batch]++
	}
	return got
}

// Several replicas racing on the same slots enqueue one scan per slot;
// each slot is its own scan.
func TestSchedulerReplicasEnqueueEachSlotOnce(t *testing.T) {
	opt := redisOpt(t)
	slots := []time.Time{
		time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 2, 2, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 3, 2, 0, 0, 0, time.UTC),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for r := 0; r < 6; r++ {
		s := scheduler(t, opt, zerolog.Nop())
		for _, slot := range slots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.EnqueueSlot(context.Background(), s.Schedules[0], slot)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("EnqueueSlot: %v", err) // a lost race is not an error
		}
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	got := scans(t, insp, "backfill", insp.ListPendingTasks)
	want := map[string]int{"nightly-20250101T0200": 1, "nightly-20250102T0200": 1, "nightly-20250103T0200": 1}
	if len(got) != len(want) {
		t.Fatalf("scan tasks %v, want %v", got, want)
	}
	for b, n := range want {
		if got[b] != n {
			t.Errorf("scan tasks %v, want %v", got, want)
		}
	}
}

// A replica whose clock lags fires a slot after another replica's scan of
// that slot already finished: the kept (retained) task still refuses it.
func TestSchedulerSlotRefusedAfterScanCompleted(t *testing.T) {
	opt := redisOpt(t)
	slot := time.Date(2025, 1, 1, 2, 0, 0, 0, time.UTC)
	first := scheduler(t, opt, zerolog.Nop())
	if err := first.EnqueueSlot(context.Background(), first.Schedules[0], slot); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	runs := 0
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: 1, Queues: map[string]int{"backfill": 1}, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc(layout.TypeScan, func(context.Context, *asynq.Task) error {
		mu.Lock()
		runs++
		mu.Unlock()
		return nil
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	insp := asynq.NewInspector(opt)
	defer insp.Close()
	waitFor(t, 20*time.Second, "the scan to complete", func() bool {
		done, err := insp.ListCompletedTasks("backfill")
		return err == nil && len(done) == 1
	})

	lagging := scheduler(t, opt, zerolog.Nop())
	if err := lagging.EnqueueSlot(context.Background(), lagging.Schedules[0], slot); err != nil {
		t.Fatal(err)
	}
	qi, err := insp.GetQueueInfo("backfill")
	if err != nil {
		t.Fatal(err)
	}
	if qi.Pending+qi.Active+qi.Scheduled+qi.Retry != 0 || qi.Completed != 1 {
		t.Errorf("after the lagging replica: %+v, want only the one completed scan", qi)
	}
	// The next slot is a new scan.
	if err := lagging.EnqueueSlot(context.Background(), lagging.Schedules[0], slot.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the next slot's scan to complete", func() bool {
		done, err := insp.ListCompletedTasks("backfill")
		return err == nil && len(done) == 2
	})
	srv.Shutdown()
	mu.Lock()
	defer mu.Unlock()
	if runs != 2 {
		t.Errorf("scan handler ran %d times, want 2 (one per slot)", runs)
	}
}

// The cron loop itself: two replicas whose clocks disagree by 400ms both
// reach the same slot (the test clock puts it a fraction of a second
// ahead); exactly one scan is enqueued for it, named after the slot.
func TestSchedulerLoopReplicasFireSlotOnce(t *testing.T) {
	opt := redisOpt(t)
	slot := time.Date(2025, 3, 4, 5, 6, 0, 0, time.UTC)
	var logs [2]syncBuffer
	var reps []*Scheduler
	for i, lead := range []time.Duration{300 * time.Millisecond, 700 * time.Millisecond} {
		offset := slot.Add(-lead).Sub(time.Now())
		s := scheduler(t, opt, zerolog.New(&logs[i]).Level(zerolog.DebugLevel))
		s.Schedules = []config.Schedule{{Name: "minutely", Cron: "* * * * *", Source: "s3://inbox/backlog/",
			Type: "receipt", Out: "s3://outbox/results/", Queue: "backfill"}}
		s.Now = func() time.Time { return time.Now().Add(offset) }
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown()
		reps = append(reps, s)
	}
	// Each replica logs once it has fired the slot: enqueued, or refused
	// because the other one was first.
	waitFor(t, 15*time.Second, "both replicas to fire the slot", func() bool {
		for i := range logs {
			l := logs[i].String()
			if !strings.Contains(l, "backfill scan enqueued") && !strings.Contains(l, "slot already enqueued") {
				return false
			}
		}
		return true
	})
	for _, s := range reps {
		s.Shutdown()
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	got := scans(t, insp, "backfill", insp.ListPendingTasks)
	if len(got) != 1 || got["minutely-20250304T0506"] != 1 {
		t.Errorf("scan tasks %v, want one for minutely-20250304T0506", got)
	}
	if n := strings.Count(logs[0].String()+logs[1].String(), "backfill scan enqueued"); n != 1 {
		t.Errorf("%d replicas enqueued the slot, want 1", n)
	}
}

func TestSchedulerStartRejectsBadCron(t *testing.T) {
	s := &Scheduler{Schedules: []config.Schedule{{Cron: "@daily"}, {Cron: "every night"}}}
	err := s.Start()
	if err == nil {
		s.Shutdown()
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "schedules[1].cron") {
		t.Errorf("error %q does not name schedules[1].cron", err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
