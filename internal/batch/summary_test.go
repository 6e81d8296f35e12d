package batch

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// flakyBucket fails its first `fails` Puts the way a storage blip does.
type flakyBucket struct {
	storage.Bucket
	fails, puts int
}

func (b *flakyBucket) Put(ctx context.Context, key string, r io.Reader, size int64, o storage.PutOptions) (storage.ObjectInfo, error) {
	b.puts++
	if b.puts <= b.fails {
		return storage.ObjectInfo{}, errors.New("503 slow down")
	}
	return b.Bucket.Put(ctx, key, r, size, o)
}

// The tracker writes its own summary, once, at layout.SummaryKey, and rides
// out a storage blip: only the caller told "done" writes it.
func TestWriteSummaryRetriesABlip(t *testing.T) {
	ctx := t.Context()
	tr, _ := newTracker(t)
	var slept []time.Duration
	tr.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	const id = "b-sum"
	mustNil(t, tr.AddSources(ctx, id, "s3://in/a.jpg"))
	mustFinish(t, tr, id, "s3://in/a.jpg", StatusFailed, "vendor_rejected")
	if done, err := tr.Seal(ctx, id); err != nil || !done {
		t.Fatalf("seal: %v %v", done, err)
	}

	mem := memory.New()
	b := &flakyBucket{Bucket: mem.Bucket("out"), fails: 2}
	if err := tr.WriteSummary(ctx, b, "r/", id); err != nil {
		t.Fatal(err)
	}
	if len(slept) != 2 || slept[0] != time.Second || slept[1] != 2*time.Second {
		t.Errorf("waits %v, want 1s then 2s", slept)
	}
	rc, _, err := mem.Bucket("out").Get(ctx, layout.SummaryKey("r/", id))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var sum struct {
		Schema   string    `json:"schema"`
		Done     bool      `json:"done"`
		Failures []Failure `json:"failures"`
	}
	if err := json.NewDecoder(rc).Decode(&sum); err != nil {
		t.Fatal(err)
	}
	if sum.Schema != SummarySchema || !sum.Done || len(sum.Failures) != 1 || sum.Failures[0].Code != "vendor_rejected" {
		t.Errorf("summary %+v", sum)
	}

	// Storage down for good: the write gives up after 1+2+4+8 s of waits.
	slept = nil
	down := &flakyBucket{Bucket: mem.Bucket("out"), fails: 100}
	if err := tr.WriteSummary(ctx, down, "r/", id); err == nil {
		t.Error("no error with storage down")
	}
	if down.puts != 5 || len(slept) != 4 {
		t.Errorf("%d puts, %d waits; want 5 and 4", down.puts, len(slept))
	}
}

// The summary counts pages read and vendor calls made; an unknown batch
// is not created by counting.
func TestSummaryCountsPagesAndCalls(t *testing.T) {
	ctx := t.Context()
	tr, rdb := newTracker(t)
	const id = "b-pages"
	mustNil(t, tr.AddSources(ctx, id, "s3://in/stack.pdf", "s3://in/a.jpg"))
	mustNil(t, tr.Spent(ctx, id, "", 0, 2)) // a run that failed transiently: 2 calls, no page final
	mustNil(t, tr.Spent(ctx, id, "", 3, 2)) // its retry: 3 pages in all, 2 more calls
	mustFinish(t, tr, id, "s3://in/stack.pdf", StatusSucceeded, "")
	mustNil(t, tr.Spent(ctx, id, "", 1, 1))
	mustFinish(t, tr, id, "s3://in/a.jpg", StatusSucceeded, "")
	if _, err := tr.Seal(ctx, id); err != nil {
		t.Fatal(err)
	}
	b, err := tr.Summary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Pages int64 `json:"pages"`
		Calls int64 `json:"vendorCalls"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || sum.Pages != 4 || sum.Calls != 5 {
		t.Errorf("summary pages %d calls %d (%v), want 4 and 5:\n%s", sum.Pages, sum.Calls, err, b)
	}
	mustNil(t, tr.Spent(ctx, "never-enqueued", "", 1, 1))
	if n, _ := rdb.Exists(ctx, keys("never-enqueued")[0]).Result(); n != 0 {
		t.Error("counting spending created a batch")
	}
}
