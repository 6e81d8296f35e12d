package e2e

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestOutputInsideTheSourcePrefix: results written inside the source
// prefix are never read back as sources. Two backfills of docs/ into
// docs/results/ make two results, a warning and no a.png.json.json.
func TestOutputInsideTheSourcePrefix(t *testing.T) {
	s := newStack(t, stack.Options{})
	in := bucket(t, s, "inbox")
	for i, k := range []string{"docs/a.png", "docs/b.png"} {
		put(t, in, k, testimages.PNG(int64(500+i), 32, 24, nil))
	}
	if _, err := s.StartWorker("--concurrency", "4"); err != nil {
		t.Fatal(err)
	}
	args := []string{"enqueue", "--type", "receipt", "--out", "s3://inbox/docs/results/", "--batch", "nested-1", "s3://inbox/docs/"}
	stdout, stderr, code, err := s.Run(t.Context(), "producer", args...)
	if err != nil || code != 0 {
		t.Fatalf("producer: %v exit %d\n%s", err, code, stderr)
	}
	if n, _, _ := enqueuedLine(t, stdout); n != 2 {
		t.Fatalf("first enqueue: %q", stdout)
	}
	if strings.Count(stderr, "overlaps the source prefix") != 1 {
		t.Errorf("want one warning about the overlap, stderr:\n%s", stderr)
	}
	waitResults(t, in, "docs/results/", 2, time.Minute)

	// The second run sees the results (and the summary) under docs/results/
	// and enqueues none of them.
	out := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://inbox/docs/results/", "--batch", "nested-2", "s3://inbox/docs/")
	if n, skip, _ := enqueuedLine(t, out); n != 0 || skip != 2 {
		t.Errorf("second enqueue: %q, want enqueued 0 skipped 2", out)
	}
	waitObject(t, in, layout.SummaryKey("docs/results/", "nested-1"), time.Minute)
	waitObject(t, in, layout.SummaryKey("docs/results/", "nested-2"), time.Minute)
	time.Sleep(time.Second) // anything wrongly enqueued would be written by now
	var keys []string
	if err := in.List(t.Context(), "docs/", "", func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "docs/results/docs/results/") || strings.HasSuffix(k, ".json.json") {
			t.Errorf("output read back as a source: %s", k)
		}
	}
	if len(keys) != 2+2+2 { // sources, results, two summaries
		t.Errorf("objects under docs/: %v", keys)
	}
}

// TestResultKeysAreNeverShared: the raw copy of docs/a.png, the summary of
// a batch and the result of another bucket's docs/a.png each used to land
// on some other source's result. Now the raw copies and the summary live
// under _ocr/, every source keeps its result, and the second source aiming
// at an owned result key fails as result_conflict in the batch summary.
func TestResultKeysAreNeverShared(t *testing.T) {
	cfg := strings.Replace(stack.DefaultConfig, "    mode: multipart\n", "    mode: multipart\n    keepRaw: true\n", 1)
	s := newStack(t, stack.Options{Config: cfg})
	in, in2, outB := bucket(t, s, "inbox"), bucket(t, s, "inbox2"), bucket(t, s, "outbox")
	const batch = "layout-1"
	images := map[string][]byte{
		"s3://inbox/docs/a.png":        testimages.PNG(601, 32, 24, nil),
		"s3://inbox/docs/a.png.raw":    testimages.PNG(602, 32, 24, nil), // old raw key of docs/a.png: docs/a.png.raw.json
		"s3://inbox/_batches/" + batch: testimages.PNG(603, 32, 24, nil), // old summary key
	}
	for uri, img := range images {
		u, _ := storage.ParseURI(uri)
		put(t, in, u.Key, img)
	}
	if _, err := s.StartWorker("--concurrency", "4"); err != nil {
		t.Fatal(err)
	}
	// The first three, then another bucket's docs/a.png into the same output.
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "--batch", batch,
		"s3://inbox/docs/a.png", "s3://inbox/docs/a.png.raw", "s3://inbox/_batches/"+batch)
	waitResults(t, outB, "r/", 3, time.Minute)
	loser := "s3://inbox2/docs/a.png"
	put(t, in2, "docs/a.png", testimages.PNG(604, 32, 24, nil))
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "--batch", batch, loser)

	sum := waitSummary(t, outB, layout.SummaryKey("r/", batch), 4, time.Minute)
	if sum.Succeeded != 3 || sum.Failed != 1 || len(sum.Failures) != 1 ||
		sum.Failures[0].Source != loser || sum.Failures[0].Code != "result_conflict" {
		t.Errorf("summary %+v, want 3 succeeded and %s failed as result_conflict", sum, loser)
	}
	for uri, img := range images {
		u, _ := storage.ParseURI(uri)
		rk := layout.ResultKey("r/", u.Key)
		r := readResult(t, outB, rk)
		if r.Schema != result.Schema || r.Source["uri"] != uri || r.Status != result.StatusSucceeded {
			t.Errorf("%s: holds %s %s, want the result of %s", rk, r.Schema, r.Source["uri"], uri)
			continue
		}
		checkFields(t, rk, "receipt", r.Fields, img)
		info, err := outB.Head(t.Context(), rk)
		if err != nil || info.Metadata[layout.MetaOwner] != layout.Owner(uri) {
			t.Errorf("%s: owner %q, want %q (%v)", rk, info.Metadata[layout.MetaOwner], layout.Owner(uri), err)
		}
		if _, err := outB.Head(t.Context(), layout.RawKey("r/", u.Key)); err != nil {
			t.Errorf("raw copy of %s: %v", uri, err)
		}
	}
	// The conflict is logged by the source's hash, never by its key.
	logs, err := s.Logs()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, layout.Owner(loser)) || strings.Contains(logs, "inbox2/docs") {
		t.Errorf("the conflict is not logged by hash alone")
	}
}

type batchSummary struct {
	Done      bool  `json:"done"`
	Total     int64 `json:"total"`
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	Failures  []struct {
		Source string `json:"source"`
		Code   string `json:"code"`
	} `json:"failures"`
}

// waitSummary waits for a done summary counting total sources.
func waitSummary(t *testing.T, b storage.Bucket, key string, total int64, timeout time.Duration) batchSummary {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var sum batchSummary
		rc, _, err := b.Get(t.Context(), key)
		if err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			if json.Unmarshal(data, &sum) == nil && sum.Done && sum.Total == total {
				return sum
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no done summary of %d sources at %s after %s (last: %+v, %v)", total, key, timeout, sum, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitObject(t *testing.T, b storage.Bucket, key string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := b.Head(t.Context(), key); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written after %s", key, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBucketAllowLists: with storage.buckets set, the producer refuses a
// source or output outside them (exit 2) and a worker fails a task that
// bypassed the producer as forbidden_location, without reading it.
func TestBucketAllowLists(t *testing.T) {
	cfg := strings.Replace(stack.DefaultConfig, "  pathStyle: true\n",
		"  pathStyle: true\n  buckets: {read: [inbox], write: [outbox]}\n", 1)
	s := newStack(t, stack.Options{Config: cfg})
	in, secret, outB := bucket(t, s, "inbox"), bucket(t, s, "secret"), bucket(t, s, "outbox")
	put(t, in, "a.png", testimages.PNG(701, 32, 24, nil))
	put(t, secret, "a.png", testimages.PNG(702, 32, 24, nil))
	for _, args := range [][]string{
		{"--out", "s3://outbox/r/", "s3://secret/a.png"},
		{"--out", "s3://outbox/r/", "s3://secret/"},
		{"--out", "s3://inbox/r/", "s3://inbox/a.png"},
	} {
		_, stderr, code, err := s.Run(t.Context(), "producer", append([]string{"enqueue", "--type", "receipt"}, args...)...)
		if err != nil || code != 2 || !strings.Contains(stderr, "storage.buckets") {
			t.Errorf("enqueue %v: exit %d (%v), want 2 naming storage.buckets; stderr: %s", args, code, err, stderr)
		}
	}
	if _, err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: s.Redis.Addr})
	defer client.Close()
	enqueueRaw(t, client, layout.Recognize{V: 1, Source: "s3://secret/a.png", Type: "receipt", Out: "s3://outbox/r/"})
	waitResults(t, outB, "r/", 1, time.Minute)
	r := readResult(t, outB, "r/a.png.json")
	if r.Status != result.StatusFailed || r.Error == nil || r.Error.Code != "forbidden_location" || r.Source["etag"] != nil {
		t.Errorf("result %s %+v source %v, want failed forbidden_location with nothing read", r.Status, r.Error, r.Source)
	}
}
