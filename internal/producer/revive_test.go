package producer

import (
	"testing"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// An archived task (one that gave up) must not make a later explicit
// enqueue of the same source a silent no-op; a queued one must.
func TestEnqueueReplacesAnArchivedTaskOnly(t *testing.T) {
	opt := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	store := memory.New()
	putObj(t, store.Bucket("inbox"), "a.png", []byte("x"), nil)
	e := &Enqueuer{Client: client, Store: store, Config: testCfg(t), Inspector: insp, Log: zerolog.Nop()}
	o := Options{Defaults: Defaults{Type: "receipt", Out: "s3://outbox/r/"}, Queue: "default"}

	run := func() Summary {
		t.Helper()
		s, err := e.Run(t.Context(), []string{"s3://inbox/a.png"}, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := run(); s.Enqueued != 1 {
		t.Fatalf("first: %v", s)
	}
	if s := run(); s.Enqueued != 0 || s.Skipped != 1 {
		t.Fatalf("still queued: %v, want skipped", s)
	}
	id := (&layout.Recognize{Source: "s3://inbox/a.png", Type: "receipt", Out: "s3://outbox/r/"}).TaskID()
	if err := insp.ArchiveTask("default", id); err != nil {
		t.Fatal(err)
	}
	if s := run(); s.Enqueued != 1 {
		t.Fatalf("after archive: %v, want the task enqueued again", s)
	}
	info, err := insp.GetTaskInfo("default", id)
	if err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("task %v %v, want pending", info, err)
	}
}
