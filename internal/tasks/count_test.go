package tasks

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// Counting in a real batch: a run counts its source once however often it
// runs (a forced task delivered again re-reads, and counts nothing more),
// and a source enqueued into the same batch again whose new result
// replaces the batch's own failed one counts as one source, succeeded.
func TestBatchCountsEachSourceOnce(t *testing.T) {
	ctx := t.Context()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.StartRedis(t).Addr})
	t.Cleanup(func() { rdb.Close() })
	tr := batch.New(rdb)
	f := newFixture(t, ocrerr.Permanent(ocrerr.RecognitionFailed, "blurred"))
	f.h.Batches = tr
	p := receiptTask
	p.Batch = "b-count"

	status := func() batch.Status {
		t.Helper()
		st, err := tr.Get(ctx, p.Batch)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	mustNil := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustNil(tr.AddSources(ctx, p.Batch, p.Source))
	_, err := tr.Seal(ctx, p.Batch)
	mustNil(err)
	mustNil(f.run(t, p, 0, 3)) // the vendor fails it: a failed result
	if st := status(); st.Failed != 1 || !st.Done {
		t.Fatalf("after the first run: %+v", st)
	}
	// Delivered again (the worker died before asynq heard of the outcome):
	// the current result is found, nothing more is counted.
	mustNil(f.run(t, p, 0, 3))
	// Re-read with --force into the same batch: the new result replaces the
	// batch's own failed one.
	p.Force = true
	mustNil(tr.AddSources(ctx, p.Batch, p.Source))
	_, err = tr.Seal(ctx, p.Batch)
	mustNil(err)
	mustNil(f.run(t, p, 0, 3))
	if r, _ := f.result(t, "r/docs/a.png.json"); r.Status != "succeeded" {
		t.Fatalf("forced re-read: %s", r.Status)
	}
	// The forced task delivered again re-reads, and counts nothing more.
	mustNil(f.run(t, p, 0, 3))
	st := status()
	if st.Total != 1 || st.Succeeded != 1 || st.Failed != 0 || !st.Done || st.InFlight != 0 {
		t.Fatalf("after the forced re-read: %+v", st)
	}
	if _, info := f.result(t, "r/docs/a.png.json"); info.Metadata[layout.MetaBatch] != p.Batch {
		t.Errorf("result metadata %v names no batch", info.Metadata)
	}
}
