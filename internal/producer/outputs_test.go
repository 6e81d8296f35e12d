package producer

import (
	"context"
	"reflect"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// trackerBatches is a batch.Tracker as the producer's Batches.
type trackerBatches struct{ *batch.Tracker }

func (trackerBatches) Summary(context.Context, string) ([]byte, error) { return []byte("{}"), nil }

// An enqueue records where the batch's results go and which sources it
// skipped, so `producer export BATCH` finds the skipped ones too (their
// result names the batch that made it).
func TestEnqueueRecordsOutputsAndSkippedSources(t *testing.T) {
	ctx := context.Background()
	opt := redisOpt(t)
	rdb := redis.NewClient(&redis.Options{Addr: opt.Addr})
	t.Cleanup(func() { rdb.Close() })
	client := asynq.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	tr := batch.New(rdb)

	mem := memory.New()
	in := mem.Bucket("inbox")
	putObj(t, in, "docs/new.png", []byte("new"), nil)
	old := putObj(t, in, "docs/done.png", []byte("done"), nil)
	putObj(t, mem.Bucket("outbox"), "r/docs/done.png.json", []byte("{}"),
		layout.ResultMeta(layout.Owner("s3://inbox/docs/done.png"), old.ETag, "succeeded", "", ""))

	e := &Enqueuer{Client: client, Store: mem, Config: testCfg(t), Batches: trackerBatches{tr}, Log: zerolog.Nop()}
	o := Options{Defaults: Defaults{Type: "receipt", Out: "s3://outbox/r/", Batch: "b-1"}}
	sum, err := e.Run(ctx, []string{"s3://inbox/docs/"}, o)
	if err != nil || sum.Enqueued != 1 || sum.Skipped != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
	outs, err := tr.Outputs(ctx, "b-1")
	if err != nil || !reflect.DeepEqual(outs, []batch.Output{{Source: "s3://inbox/", Out: "s3://outbox/r/"}}) {
		t.Errorf("outputs %v %v", outs, err)
	}
	// The skipped source belongs to the batch now; the enqueued one once a
	// worker counts its outcome.
	got, err := tr.Members(ctx, "b-1", []string{"s3://inbox/docs/done.png", "s3://inbox/docs/new.png"})
	if err != nil || !reflect.DeepEqual(got, []bool{true, false}) {
		t.Errorf("members %v %v", got, err)
	}

	// A dry run records nothing.
	o.Batch, o.DryRun = "b-dry", true
	if _, err := e.Run(ctx, []string{"s3://inbox/docs/"}, o); err != nil {
		t.Fatal(err)
	}
	if outs, _ := tr.Outputs(ctx, "b-dry"); len(outs) != 0 {
		t.Errorf("dry run recorded %v", outs)
	}
}

func TestSourceRoot(t *testing.T) {
	for uri, want := range map[string]string{
		"s3://in/a/b.jpg":       "s3://in/",
		"s3://in/b.jpg":         "s3://in/",
		"file:///data/in/a.png": "file:///",
	} {
		if got := SourceRoot(uri); got != want {
			t.Errorf("SourceRoot(%q) = %q, want %q", uri, got, want)
		}
	}
}
