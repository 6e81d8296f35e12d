package setup

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/notify"
	"github.com/ocrbatch/ocrworker/internal/tasks"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

type fakeGate struct{ tasks.Gate }

func (fakeGate) Halt(context.Context, string, time.Time) error { return nil }

// The batch events are emitted where the tracker learns them: a failed
// outcome queues document.failed, Seal completing the batch enqueues
// batch.completed on the enqueue's queue, a gate's halt vendor.halted.
func TestNotifyingBatchesAndHalts(t *testing.T) {
	ctx := context.Background()
	addr := testenv.StartRedis(t).Addr
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	client := asynq.NewClientFromRedisClient(rdb)
	cfg := &config.Config{Notify: []notify.Receiver{{Name: "r", URL: "https://hooks.example.com/x", Secret: "s",
		Events: notify.Events}}}
	em := notify.NewEmitter(NotifyDeps(cfg, rdb, client, nil))
	b := NotifyingBatches{Tracker: batch.New(rdb), Emitter: em, Log: zerolog.Nop(), Queue: "q1"}

	if _, _, err := b.Register(ctx, "b1", batch.Chunk{Tasks: []batch.Task{{Source: "s3://in/succeeded.png"}, {Source: "s3://in/failed.png"}}}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{batch.StatusSucceeded, batch.StatusFailed} {
		if done, err := b.Finish(ctx, "b1", "s3://in/"+st+".png", st, map[string]string{batch.StatusFailed: "invalid_image"}[st]); err != nil || done {
			t.Fatalf("finish %s: done %v %v", st, done, err)
		}
	}
	if n := rdb.LLen(ctx, "ocr:notify:batch:{b1}:failed").Val(); n != 1 {
		t.Errorf("%d document.failed entries waiting, want 1", n)
	}
	if done, err := b.Seal(ctx, "b1"); err != nil || !done {
		t.Fatalf("seal: %v %v", done, err)
	}
	v := map[string]*tasks.Vendor{"clova": {Gate: fakeGate{}}}
	NotifyHalts(v, em, zerolog.Nop())
	if err := v["clova"].Gate.Halt(ctx, "quota_exhausted", time.Now()); err != nil {
		t.Fatal(err)
	}

	insp := asynq.NewInspectorFromRedisClient(rdb)
	pending, err := insp.ListPendingTasks("q1")
	if err != nil || len(pending) != 1 {
		t.Fatalf("q1: %d pending, %v; want the batch.completed delivery", len(pending), err)
	}
	var p struct {
		Event string
		Body  struct{ Data notify.BatchSummary }
	}
	if err := json.Unmarshal(pending[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if s := p.Body.Data; p.Event != notify.EventBatchCompleted || s.Total != 2 || s.Succeeded != 1 || s.Failed != 1 {
		t.Errorf("delivery %s %+v", p.Event, s)
	}
	// Outside a handler, without a queue: vendor.halted goes to default.
	halted, err := insp.ListPendingTasks("default")
	if err != nil || len(halted) != 1 {
		t.Fatalf("default: %d pending, %v; want the vendor.halted delivery", len(halted), err)
	}
	if err := json.Unmarshal(halted[0].Payload, &p); err != nil || p.Event != notify.EventVendorHalted {
		t.Errorf("default queue holds %s %v", p.Event, err)
	}
}
