package batch

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// A batch started by a version before fmt 2 (total counted by AddTotal, a
// record per source) finishes and counts correctly under this version:
// re-runs count once, the last outcome wins, more enqueues reopen it.
func TestBatchInTheOldFormatStillCounts(t *testing.T) {
	ctx := context.Background()
	tr, rdb := newTracker(t)
	const id = "old-1"
	ks := keys(id)
	// As the old producer and worker left it: 3 enqueued, a.jpg succeeded.
	rdb.HSet(ctx, ks[kMeta], "total", 3, "succeeded", 1, "startedAt", 1, "updatedAt", 1)
	rdb.HSet(ctx, ks[kSources], sourceField("s3://in/a.jpg"), "s")

	mustFinish(t, tr, id, "s3://in/a.jpg", StatusSucceeded, "") // a re-run: counted once
	mustFinish(t, tr, id, "s3://in/b.jpg", StatusFailed, "invalid_image")
	mustNil(t, tr.AddSources(ctx, id, "s3://in/d.jpg")) // a new producer adds to it
	if done, _ := tr.Seal(ctx, id); done {
		t.Fatal("done with c.jpg and d.jpg pending")
	}
	mustFinish(t, tr, id, "s3://in/c.jpg", StatusSucceeded, "")
	mustFinish(t, tr, id, "s3://in/b.jpg", StatusSucceeded, "") // re-read: the last outcome wins
	if !mustFinish(t, tr, id, "s3://in/d.jpg", StatusSucceeded, "") {
		t.Fatal("the last outcome did not complete the old batch")
	}
	s := mustGet(t, tr, id)
	if s.Total != 4 || s.Succeeded != 4 || s.Failed != 0 || !s.Done {
		t.Fatalf("old batch: %+v", s)
	}
	if f, _ := tr.Failures(ctx, id); len(f) != 0 {
		t.Errorf("failures %v", f)
	}
}

// A batch in this format holds nothing per finished source: once done,
// only its counters (and the failures, below SpillAt) remain.
func TestFinishedBatchKeepsOnlyCounters(t *testing.T) {
	ctx := context.Background()
	tr, rdb := newTracker(t)
	const id, n = "small", 500
	var srcs []string
	for i := range n {
		srcs = append(srcs, fmt.Sprintf("s3://in/%04d.jpg", i))
	}
	mustNil(t, tr.AddSources(ctx, id, srcs...))
	if got := mustGet(t, tr, id).InFlight; got != n {
		t.Fatalf("in flight %d, want %d", got, n)
	}
	_, err := tr.Seal(ctx, id)
	mustNil(t, err)
	for _, s := range srcs {
		mustFinish(t, tr, id, s, StatusSucceeded, "")
	}
	if s := mustGet(t, tr, id); !s.Done || s.Succeeded != n || s.InFlight != 0 {
		t.Fatalf("%+v", s)
	}
	for _, k := range []string{ks(id, kSources), ks(id, kInflight), ks(id, kFailures)} {
		if rdb.Exists(ctx, k).Val() != 0 {
			t.Errorf("%s still exists", k)
		}
	}
}

func ks(id string, k int) string { return keys(id)[k] }

// Past SpillAt failures Redis keeps none of them: they move to storage,
// and the summary still lists every one.
func TestFailuresSpillToStorage(t *testing.T) {
	ctx := context.Background()
	tr, rdb := newTracker(t)
	tr.spill = 10
	const id, n = "spill", 25
	mem := memory.New()
	out := mem.Bucket("out")
	var srcs []string
	for i := range n {
		srcs = append(srcs, fmt.Sprintf("s3://in/%02d.jpg", i))
	}
	mustNil(t, tr.AddSources(ctx, id, srcs...))
	_, err := tr.Seal(ctx, id)
	mustNil(t, err)
	for _, s := range srcs {
		mustFinish(t, tr, id, s, StatusFailed, "invalid_image")
		mustNil(t, tr.SpillFailures(ctx, out, "r/", id))
		if h := rdb.HLen(ctx, ks(id, kFailures)).Val(); h >= 10 {
			t.Fatalf("%d failures in Redis, want under 10", h)
		}
	}
	mustNil(t, tr.WriteSummary(ctx, out, "r/", id))
	rc, _, err := out.Get(ctx, layout.SummaryKey("r/", id))
	mustNil(t, err)
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		k, err := rc.Read(buf)
		b.Write(buf[:k])
		if err != nil {
			break
		}
	}
	rc.Close()
	for _, s := range srcs {
		if strings.Count(b.String(), `"`+s+`"`) != 1 {
			t.Errorf("summary lists %s %d times", s, strings.Count(b.String(), s))
		}
	}
	if _, err := out.Head(ctx, layout.FailuresKey("r/", id, "2")); err != nil {
		t.Errorf("second spill: %v", err)
	}
}
