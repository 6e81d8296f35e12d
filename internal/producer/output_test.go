package producer

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// An output prefix inside the source prefix: its results, summaries and
// raw copies are not sources (no a.png.json.json), they are skipped by key
// without a HEAD, and the enqueue warns once.
func TestOutputInsideTheSourcePrefixIsNotEnqueued(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		noise     []string
	}{
		{"inside", "s3://inbox/docs/results/", []string{"docs/results/docs/a.png.json", "docs/results/_ocr/batches/b.json", "docs/results/docs/x.png.json"}},
		{"same", "s3://inbox/docs/", []string{"docs/a.png.json", "docs/_ocr/raw/a.png.json", "docs/x.png.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.New()
			in := mem.Bucket("inbox")
			for _, k := range []string{"docs/a.png", "docs/b.png"} {
				putObj(t, in, k, []byte(k), nil)
			}
			for _, k := range tc.noise {
				putObj(t, in, k, []byte("{}"), nil)
			}
			var logs bytes.Buffer
			e := &Enqueuer{Store: mem, Config: testCfg(t), Log: zerolog.New(&logs)}
			o := Options{Defaults: Defaults{Type: "receipt", Out: tc.out}, DryRun: true}
			sum, err := e.Run(t.Context(), []string{"s3://inbox/docs/"}, o)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Enqueued != 2 || sum.Skipped != 0 {
				t.Errorf("%v, want the 2 images enqueued and nothing else", sum)
			}
			if n := strings.Count(logs.String(), `"level":"warn"`); n != 1 {
				t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
			}
		})
	}
}

// Every listing skips the _ocr/ area, wherever the output is.
func TestListingSkipsTheReservedArea(t *testing.T) {
	mem := memory.New()
	in := mem.Bucket("inbox")
	putObj(t, in, "docs/a.png", []byte("a"), nil)
	putObj(t, in, "docs/_ocr/raw/docs/a.png.json", []byte("{}"), nil)
	putObj(t, in, "docs/old/_ocr/batches/b.json", []byte("{}"), nil)
	e := &Enqueuer{Store: mem, Config: testCfg(t), Log: zerolog.Nop()}
	sum, err := e.Run(t.Context(), []string{"s3://inbox/docs/"}, Options{Defaults: Defaults{Type: "receipt", Out: "s3://outbox/r/"}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Enqueued != 1 {
		t.Errorf("%v, want only docs/a.png", sum)
	}
}

// A result at the key that belongs to another source (s3://other/a.png,
// same key, same output) is not this source's current result.
func TestResultOfAnotherSourceIsNotCurrent(t *testing.T) {
	mem := memory.New()
	info := putObj(t, mem.Bucket("inbox"), "a.png", []byte("same bytes"), nil)
	putObj(t, mem.Bucket("outbox"), "r/a.png.json", []byte("{}"),
		map[string]string{"source-etag": info.ETag, "status": "succeeded", "source-ref": "0123456789abcdef0123456789abcdef"})
	e := &Enqueuer{Store: mem, Config: testCfg(t), Log: zerolog.Nop()}
	sum, err := e.Run(t.Context(), []string{"s3://inbox/a.png"}, Options{Defaults: Defaults{Type: "receipt", Out: "s3://outbox/r/"}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Enqueued != 1 {
		t.Errorf("%v: another source's result was taken for this one's", sum)
	}
}

// With storage.buckets set, the producer refuses sources and outputs
// outside the lists before enqueueing anything.
func TestEnqueueOutsideTheAllowListsIsRefused(t *testing.T) {
	cfg, err := config.Parse([]byte(testConfig + "storage: {buckets: {read: [inbox], write: [outbox]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	putObj(t, mem.Bucket("inbox"), "a.png", []byte("a"), nil)
	putObj(t, mem.Bucket("secret"), "a.png", []byte("a"), nil)
	e := &Enqueuer{Store: mem, Config: cfg, Log: zerolog.Nop()}
	for _, tc := range []struct{ src, out string }{
		{"s3://secret/a.png", "s3://outbox/r/"},
		{"s3://secret/", "s3://outbox/r/"},
		{"s3://inbox/a.png", "s3://inbox/r/"},
	} {
		sum, err := e.Run(t.Context(), []string{tc.src}, Options{Defaults: Defaults{Type: "receipt", Out: tc.out}, DryRun: true})
		if !errors.Is(err, ErrForbidden) || sum.Enqueued != 0 {
			t.Errorf("%s -> %s: %v %v, want ErrForbidden and nothing enqueued", tc.src, tc.out, sum, err)
		}
	}
	if sum, err := e.Run(t.Context(), []string{"s3://inbox/a.png"}, Options{Defaults: Defaults{Type: "receipt", Out: "s3://outbox/r/"}, DryRun: true}); err != nil || sum.Enqueued != 1 {
		t.Errorf("allowed: %v %v", sum, err)
	}
}

// A schedule whose out lies inside its source: the scan task skips the
// output too (it runs the same enqueue).
func TestScanSkipsAnOutputInsideItsSource(t *testing.T) {
	opt := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	mem := memory.New()
	in := mem.Bucket("inbox")
	putObj(t, in, "docs/a.png", []byte("a"), nil)
	putObj(t, in, "docs/results/docs/a.png.json", []byte("{}"), nil)
	putObj(t, in, "docs/results/_ocr/batches/nightly-1.json", []byte("{}"), nil)
	var logs bytes.Buffer
	e := &Enqueuer{Client: client, Store: mem, Config: testCfg(t), Log: zerolog.New(&logs)}
	sum, err := e.Scan(t.Context(), layout.Scan{Source: "s3://inbox/docs/", Type: "receipt", Out: "s3://inbox/docs/results/", Queue: "backfill", Batch: "nightly-1"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Enqueued != 1 {
		t.Errorf("scan: %v, want only docs/a.png enqueued", sum)
	}
	if n := strings.Count(logs.String(), `"level":"warn"`); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}
