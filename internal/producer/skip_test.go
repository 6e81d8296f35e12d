package producer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// Source keys where appending ".json" changes the order ("x" < "x-1" but
// "x-1.json" < "x.json"): the merge must not mistake their results.
var invertedKeys = []string{"x", "x-1", "x-2", "x b", "x.png", "x.png-old", "x.png.bak", "y", "y!"}

// The merge answers exactly what the full output listing says, across
// page boundaries and for the keys whose order ".json" inverts, while
// listing the output prefix page by page (not once per source).
func TestResultMergeAgreesWithListing(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	in, out := mem.Bucket("inbox"), mem.Bucket("outbox")
	truth := map[string]bool{} // result key -> exists
	var sources []string
	for i := 0; i < 2600; i++ {
		sources = append(sources, fmt.Sprintf("backlog/d%04d.png", i))
	}
	for _, k := range invertedKeys {
		sources = append(sources, "backlog/"+k)
	}
	results := 0
	for i, k := range sources {
		putObj(t, in, k, []byte(k), nil)
		rk := "results/" + k + ".json"
		truth[rk] = i%2 == 0 || strings.HasPrefix(k, "backlog/x") || strings.HasPrefix(k, "backlog/y")
		if truth[rk] {
			putObj(t, out, rk, []byte("{}"), nil)
			results++
		}
	}
	// Noise that shares the output prefix: raw answers and batch summaries.
	putObj(t, out, "results/backlog/d0000.png.raw.json", []byte("{}"), nil)
	putObj(t, out, "results/backlog/_batches/b.json", []byte("{}"), nil)

	cs := newCountingStore(mem, "outbox")
	m := newResultMerge(cs.Bucket("outbox"), "results/backlog/")
	unknown := 0
	err := in.List(ctx, "backlog/", "", func(o storage.ObjectInfo) error {
		rk := "results/" + o.Key + ".json"
		st, err := m.lookup(ctx, rk)
		if err != nil {
			return err
		}
		switch st {
		case resultListed:
			if !truth[rk] {
				t.Errorf("%s: listed, but there is no such result", o.Key)
			}
		case resultAbsent:
			if truth[rk] {
				t.Errorf("%s: absent, but the result exists", o.Key)
			}
		case resultUnknown:
			unknown++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if unknown == 0 || unknown > len(invertedKeys) {
		t.Errorf("%d lookups left to a HEAD, want 1..%d (only order inversions)", unknown, len(invertedKeys))
	}
	// One List call per page of 1000 result keys (plus the last, short one).
	if n, max := cs.lists["outbox"].Load(), int64(results/mergePage+2); n < 2 || n > max {
		t.Errorf("%d output listings for %d results, want 2..%d", n, results, max)
	}
}

// A scan task enqueues exactly the sources without a current result into
// its queue: missing and stale results are redone, current ones skipped;
// only results that exist are HEADed and sources are never HEADed (the
// listing's ETag is used). Memory: see TestResultMergeAgreesWithListing.
func TestScanEnqueuesOnlyWithoutCurrentResult(t *testing.T) {
	ctx := context.Background()
	opt := redisOpt(t)
	mem := memory.New()
	in, out := mem.Bucket("inbox"), mem.Bucket("outbox")

	want := map[string]bool{} // source key -> must be enqueued
	existing := 0
	add := func(key string, result string) {
		info := putObj(t, in, key, []byte("image "+key), nil)
		rk := "results/" + key + ".json"
		switch result {
		case "current":
			putObj(t, out, rk, []byte("{}"), map[string]string{layout.MetaSourceETag: info.ETag})
		case "stale": // the source changed since this result
			putObj(t, out, rk, []byte("{}"), map[string]string{layout.MetaSourceETag: `"0123"`})
		}
		if result != "" {
			existing++
		}
		want[key] = result != "current"
	}
	for i := 0; i < 2300; i++ {
		switch {
		case i%2 == 0:
			add(fmt.Sprintf("backlog/doc-%04d.png", i), "current")
		case i%50 == 1:
			add(fmt.Sprintf("backlog/doc-%04d.png", i), "stale")
		default:
			add(fmt.Sprintf("backlog/doc-%04d.png", i), "")
		}
	}
	for i, k := range invertedKeys {
		add("backlog/"+k, map[bool]string{true: "current", false: ""}[i%2 == 0])
	}
	putObj(t, in, "backlog/folder/", nil, nil)           // a folder marker, not a document
	putObj(t, in, "elsewhere/doc.png", []byte("x"), nil) // outside the prefix

	cs := newCountingStore(mem, "inbox", "outbox")
	client := asynq.NewClient(opt)
	defer client.Close()
	e := &Enqueuer{Client: client, Store: cs, Config: testCfg(t), Log: zerolog.Nop()}
	scan := layout.Scan{Source: "s3://inbox/backlog/", Type: "receipt", Out: "s3://outbox/results/", Queue: "backfill", Batch: "nightly-1"}
	sum, err := e.Scan(ctx, scan)
	if err != nil {
		t.Fatal(err)
	}

	wantN := 0
	for _, w := range want {
		if w {
			wantN++
		}
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	qi, err := insp.GetQueueInfo("backfill")
	if err != nil {
		t.Fatal(err)
	}
	if qi.Pending != wantN {
		t.Errorf("backfill queue holds %d tasks, want %d", qi.Pending, wantN)
	}
	for key, w := range want {
		p := layout.Recognize{V: layout.PayloadVersion, Source: "s3://inbox/" + key, Type: "receipt", Out: scan.Out, Batch: scan.Batch}
		_, err := insp.GetTaskInfo("backfill", p.TaskID())
		if got := err == nil; got != w {
			t.Errorf("%s: enqueued = %v, want %v (%v)", key, got, w, err)
		}
	}
	if sum.Enqueued != int64(wantN) || sum.Skipped != int64(len(want)-wantN) {
		t.Errorf("scan summary %v, want enqueued %d skipped %d", sum, wantN, len(want)-wantN)
	}
	if n := cs.heads["inbox"].Load(); n != 0 {
		t.Errorf("%d source HEADs, want 0 (the listing carries ETags)", n)
	}
	if n := cs.heads["outbox"].Load(); n < int64(existing) || n > int64(existing+len(invertedKeys)) {
		t.Errorf("%d result HEADs, want %d (those that exist) plus at most %d order inversions", n, existing, len(invertedKeys))
	}

	// The same scan again (a retry): nothing new is queued.
	if _, err := e.Scan(ctx, scan); err != nil {
		t.Fatal(err)
	}
	if qi, _ := insp.GetQueueInfo("backfill"); qi.Pending != wantN {
		t.Errorf("after a second scan the queue holds %d tasks, want %d", qi.Pending, wantN)
	}
}
