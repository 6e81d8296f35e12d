package producer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

type scanFixture struct {
	e    *Enqueuer
	tr   *batch.Tracker
	insp *asynq.Inspector
	mem  storage.Store
	s    layout.Scan
}

func newScanFixture(t *testing.T, n int) *scanFixture {
	t.Helper()
	opt := redisOpt(t)
	rdb := redis.NewClient(&redis.Options{Addr: opt.Addr})
	t.Cleanup(func() { rdb.Close() })
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	mem := memory.New()
	for i := range n {
		putObj(t, mem.Bucket("inbox"), fmt.Sprintf("scan/%03d.png", i), []byte(fmt.Sprint(i)), nil)
	}
	tr := batch.New(rdb)
	return &scanFixture{
		e:    &Enqueuer{Client: client, Store: mem, Config: testCfg(t), Batches: tr, Log: zerolog.Nop()},
		tr:   tr,
		insp: insp,
		mem:  mem,
		s:    layout.Scan{Source: "s3://inbox/scan/", Type: "receipt", Out: "s3://outbox/r/", Queue: "q", Batch: "scan-b"},
	}
}

// step runs scan step i.
func (f *scanFixture) step(t *testing.T, i int64, window int) StepResult {
	t.Helper()
	s := f.s
	s.Step = i
	res, err := f.e.ScanStep(t.Context(), s, window, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// queued lists the sources of the pending tasks of queue q.
func (f *scanFixture) queued(t *testing.T) []string {
	t.Helper()
	ts, err := f.insp.ListPendingTasks("q", asynq.PageSize(1000))
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	var out []string
	for _, ti := range ts {
		d, err := layout.DecodeRecognize(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimPrefix(d.Source, "s3://inbox/scan/"))
	}
	sort.Strings(out)
	return out
}

// finish runs the queued tasks as a worker would count them, and deletes them.
func (f *scanFixture) finish(t *testing.T, k int) {
	t.Helper()
	ts, _ := f.insp.ListPendingTasks("q", asynq.PageSize(1000))
	for _, ti := range ts[:min(k, len(ts))] {
		d, _ := layout.DecodeRecognize(ti.Payload)
		if _, err := f.tr.Finish(t.Context(), f.s.Batch, d.Source, batch.StatusSucceeded, ""); err != nil {
			t.Fatal(err)
		}
		if err := f.insp.DeleteTask("q", ti.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func names(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%03d.png", i))
	}
	return out
}

// A scan keeps at most the window of its batch's tasks queued, continues
// from its cursor as they drain, and ends sealing the batch, which the last
// outcome completes.
func TestScanStepKeepsTheWindow(t *testing.T) {
	f := newScanFixture(t, 25)
	res := f.step(t, 0, 10)
	if !res.Next || res.Delay != WindowPoll || res.Enqueued != 10 {
		t.Fatalf("first step %+v, want 10 enqueued and a wait for the window", res)
	}
	if got := f.queued(t); fmt.Sprint(got) != fmt.Sprint(names(0, 10)) {
		t.Fatalf("queued %v", got)
	}
	if res := f.step(t, 1, 10); res.Enqueued != 0 || !res.Next {
		t.Fatalf("full window: %+v", res)
	}
	f.finish(t, 4)
	if res := f.step(t, 2, 10); res.Enqueued != 4 || !res.Next {
		t.Fatalf("after 4 finished: %+v", res)
	}
	st, _ := f.tr.Get(t.Context(), f.s.Batch)
	if st.InFlight != 10 || st.Total != 14 || st.Listed != 14 || !st.Listing || st.Sealed {
		t.Fatalf("status %+v", st)
	}
	// A step that was already followed by a later one does nothing.
	if res := f.step(t, 1, 10); res.Enqueued != 0 || res.Next {
		t.Fatalf("stale step: %+v", res)
	}
	for i := int64(3); ; i++ {
		f.finish(t, 10)
		res := f.step(t, i, 10)
		if !res.Next {
			break
		}
		if i > 10 {
			t.Fatal("the scan does not end")
		}
	}
	f.finish(t, 10)
	st, _ = f.tr.Get(t.Context(), f.s.Batch)
	if !st.Done || st.Total != 25 || st.Succeeded != 25 || st.Listed != 25 || st.Listing {
		t.Fatalf("end: %+v", st)
	}
}

// A step whose worker died after it counted a chunk and before it enqueued
// all of it (asynq runs the same step again) enqueues the rest, and no
// object twice, whatever finished in between.
func TestScanStepResumesAtTheCursor(t *testing.T) {
	f := newScanFixture(t, 12)
	ctx := t.Context()
	sid := f.s.ID()
	if _, err := f.tr.BeginStep(ctx, f.s.Batch, sid, 0); err != nil {
		t.Fatal(err)
	}
	// The dead run: counted 000-005, enqueued 000-002; 000 already finished.
	var regs []batch.Task
	for _, n := range names(0, 6) {
		regs = append(regs, batch.Task{Source: "s3://inbox/scan/" + n, Queue: "q"})
	}
	if _, _, err := f.tr.Register(ctx, f.s.Batch, batch.Chunk{Tasks: regs, Scan: &batch.ScanMark{Scan: sid, Cursor: "scan/005.png", Listed: 6}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names(0, 3) {
		task, _ := layout.NewRecognizeTask(layout.Recognize{Source: "s3://inbox/scan/" + n, Type: "receipt", Out: "s3://outbox/r/", Batch: f.s.Batch}, asynq.Queue("q"))
		if _, err := f.e.Client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	f.finish(t, 1)

	res := f.step(t, 0, 8)
	if got := f.queued(t); fmt.Sprint(got) != fmt.Sprint(names(1, 9)) {
		t.Fatalf("queued after the resume %v, want 001-008 (000 finished)", got)
	}
	if res.Enqueued != 6 { // 003-005 again, 006-008 new
		t.Errorf("resumed step %+v", res)
	}
	st, _ := f.tr.Get(ctx, f.s.Batch)
	if st.Total != 9 || st.InFlight != 8 || st.Succeeded != 1 {
		t.Fatalf("status %+v", st)
	}
}

// producer cancel: the scan stops and its queued tasks leave the queue
// and the batch; the batch is done with what had run.
func TestCancelStopsTheScan(t *testing.T) {
	f := newScanFixture(t, 20)
	ctx := t.Context()
	f.step(t, 0, 8)
	f.finish(t, 3)
	del := func(_ context.Context, q, id string) bool { return f.insp.DeleteTask(q, id) == nil }
	dropped, done, err := f.tr.Cancel(ctx, f.s.Batch, del, nil)
	if err != nil || dropped != 5 || !done {
		t.Fatalf("cancel: %d dropped, done %v, %v; want 5, true", dropped, done, err)
	}
	if q := f.queued(t); len(q) != 0 {
		t.Errorf("still queued: %v", q)
	}
	if res := f.step(t, 1, 8); res.Enqueued != 0 || res.Next {
		t.Errorf("a step after the cancel: %+v", res)
	}
	st, _ := f.tr.Get(ctx, f.s.Batch)
	if !st.Cancelled || !st.Done || st.Total != 3 || st.Succeeded != 3 {
		t.Errorf("status %+v", st)
	}
}

// A manifest in the object store is scanned with a byte-offset cursor:
// each step reads on from where the last one stopped; a bad line is
// skipped (logged), the others are enqueued once.
func TestScanOfAStoredManifest(t *testing.T) {
	f := newScanFixture(t, 6)
	var lines []string
	for i, n := range names(0, 6) {
		lines = append(lines, fmt.Sprintf(`{"uri": "s3://inbox/scan/%s"}`, n))
		if i == 2 {
			lines = append(lines, "# a comment", `{"uri": 5}`)
		}
	}
	putObj(t, f.mem.Bucket("inbox"), "lists/m.jsonl", []byte(strings.Join(lines, "\n")), nil)
	f.s.Source = "@s3://inbox/lists/m.jsonl"
	total := 0
	for i := int64(0); ; i++ {
		res := f.step(t, i, 2)
		total += int(res.Enqueued)
		if !res.Next {
			break
		}
		if res.Enqueued != 2 && res.Enqueued != 0 {
			t.Fatalf("step %d: %+v", i, res)
		}
		f.finish(t, 2)
		if i > 10 {
			t.Fatal("the scan does not end")
		}
	}
	f.finish(t, 2)
	st, _ := f.tr.Get(t.Context(), f.s.Batch)
	if total != 6 || !st.Done || st.Succeeded != 6 || st.Listed != 6 {
		t.Fatalf("enqueued %d, status %+v", total, st)
	}
}

// Objects with a current result count as skipped, as in a client-side enqueue.
func TestScanStepSkipsCurrentResults(t *testing.T) {
	f := newScanFixture(t, 5)
	for _, n := range names(0, 2) {
		src, _ := f.mem.Bucket("inbox").Head(t.Context(), "scan/"+n)
		putObj(t, f.mem.Bucket("outbox"), "r/scan/"+n+".json", []byte("{}"),
			layout.ResultMeta(layout.Owner("s3://inbox/scan/"+n), src.ETag, "succeeded", "", ""))
	}
	res := f.step(t, 0, 10)
	if res.Next || res.Enqueued != 3 || res.Skipped != 2 {
		t.Fatalf("step %+v, want 3 enqueued, 2 skipped, the end", res)
	}
	st, _ := f.tr.Get(t.Context(), f.s.Batch)
	if st.Total != 5 || st.Skipped != 2 || !st.Sealed {
		t.Fatalf("status %+v", st)
	}
}

// A scan of a file:// prefix lists on the file store and names each source
// by its own scheme: the queued tasks read file://…, not s3://….
func TestScanStepOnFiles(t *testing.T) {
	root := t.TempDir()
	prev, err := storage.SetFileRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = storage.SetFileRoot(prev) })
	files, err := file.New(file.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	in := files.Bucket(storage.FileRoot())
	for i := range 3 {
		putObj(t, in, fmt.Sprintf("in/%03d.png", i), []byte(fmt.Sprint(i)), nil)
	}
	f := newScanFixture(t, 0)
	f.e.Store = files
	f.s.Source = "file://" + root + "/in/"
	f.s.Out = "file://" + root + "/out/r/"
	res := f.step(t, 0, 10)
	if res.Enqueued != 3 || res.Next || res.Listed != 3 {
		t.Fatalf("step %+v, want 3 enqueued and the listing over", res)
	}
	ts, err := f.insp.ListPendingTasks("q", asynq.PageSize(10))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ti := range ts {
		d, err := layout.DecodeRecognize(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.Source)
	}
	sort.Strings(got)
	want := []string{"file://" + root + "/in/000.png", "file://" + root + "/in/001.png", "file://" + root + "/in/002.png"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("queued %v, want %v", got, want)
	}
	st, _ := f.tr.Get(t.Context(), f.s.Batch)
	if st.Total != 3 || st.InFlight != 3 || !st.Sealed {
		t.Fatalf("status %+v", st)
	}
}
