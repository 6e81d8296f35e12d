package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestBadInputsEndAsFailedResults: each bad input ends as one failed result
// with its code, within bounded retries, and the worker keeps going.
func TestBadInputsEndAsFailedResults(t *testing.T) {
	s := newStack(t, stack.Options{})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")

	gif := append([]byte("GIF89a"), make([]byte, 64)...)
	cases := map[string]struct {
		data []byte // nil: object not uploaded
		code string
	}{
		"missing.png":    {nil, "source_not_found"},
		"empty.png":      {[]byte{}, "empty_source"},
		"text.png":       {[]byte("this is not an image at all, just text\n"), "invalid_image"},
		"broken.gif":     {gif, "invalid_image"},
		"locked.pdf":     {testimages.EncryptedPDF(1, 5, "", "owner"), "unsupported_format"},
		"unreadable.png": {testimages.PNG(3, 16, 16, emulator.MarkerFailure), "recognition_failed"},
		"broken.png":     {testimages.PNG(4, 16, 16, emulator.MarkerError), "recognition_failed"},
		"huge.png":       {testimages.Large("png", 3<<20), "too_large"},
		"down.png":       {testimages.PNG(6, 16, 16, emulator.MarkerServerError), "retries_exhausted"},
		"garbled.png":    {testimages.PNG(8, 16, 16, emulator.MarkerNotJSON), "retries_exhausted"},
	}
	var manifest []map[string]any
	for key, c := range cases {
		if c.data != nil {
			put(t, in, "bad/"+key, c.data)
		}
		manifest = append(manifest, map[string]any{"uri": "s3://inbox/bad/" + key, "type": "receipt"})
	}
	// A flaky vendor answer (5xx once) is retried and succeeds.
	flaky := testimages.PNG(9, 16, 16, emulator.MarkerFlaky)
	put(t, in, "bad/flaky.png", flaky)
	manifest = append(manifest, map[string]any{"uri": "s3://inbox/bad/flaky.png", "type": "receipt"})
	// A one-page PDF is fine.
	onePage := testimages.PDF(1, 10)
	put(t, in, "bad/one-page.pdf", onePage)
	manifest = append(manifest, map[string]any{"uri": "s3://inbox/bad/one-page.pdf", "type": "receipt"})

	if _, err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--out", "s3://outbox/r/", "--batch", "bad", "@"+writeManifest(t, manifest))

	// Tasks a producer would refuse, put in the queue directly: an unknown
	// vendor, and a payload of a future version.
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: s.Redis.Addr})
	defer client.Close()
	put(t, in, "bad/novendor.png", testimages.PNG(11, 16, 16, nil))
	enqueueRaw(t, client, layout.Recognize{V: 1, Source: "s3://inbox/bad/novendor.png", Type: "receipt", Vendor: "nope", Out: "s3://outbox/r/"})
	put(t, in, "bad/future.png", testimages.PNG(12, 16, 16, nil))
	enqueueRaw(t, client, layout.Recognize{V: 99, Source: "s3://inbox/bad/future.png", Type: "receipt", Out: "s3://outbox/r/"})
	put(t, in, "bad/notype.png", testimages.PNG(13, 16, 16, nil))
	enqueueRaw(t, client, layout.Recognize{V: 1, Source: "s3://inbox/bad/notype.png", Type: "selfie", Out: "s3://outbox/r/"})
	cases["novendor.png"] = struct {
		data []byte
		code string
	}{nil, "unknown_vendor"}
	cases["future.png"] = struct {
		data []byte
		code string
	}{nil, "invalid_task"}
	cases["notype.png"] = struct {
		data []byte
		code string
	}{nil, "unknown_document_type"}

	waitResults(t, out, "r/bad/", len(cases)+2, 2*time.Minute)
	for key, c := range cases {
		r := readResult(t, out, "r/bad/"+key+".json")
		if r.Status != "failed" || r.Error == nil || r.Error.Code != c.code || r.Fields != nil {
			t.Errorf("%s: status %q error %+v fields %v; want failed %s", key, r.Status, r.Error, r.Fields, c.code)
			continue
		}
		if r.Error.Message == "" {
			t.Errorf("%s: error without a message", key)
		}
	}
	if r := readResult(t, out, "r/bad/flaky.png.json"); r.Status != "succeeded" || r.Attempts != 2 {
		t.Errorf("flaky: status %q attempts %d error %+v", r.Status, r.Attempts, r.Error)
	}
	if r := readResult(t, out, "r/bad/one-page.pdf.json"); r.Status != "succeeded" || r.Source["format"] != "pdf" {
		t.Errorf("one-page pdf: %s", r.raw)
	}
	if r := readResult(t, out, "r/bad/unreadable.png.json"); r.Error.Retryable || r.Attempts != 1 {
		t.Errorf("recognition failure must not be retried: %s", r.raw)
	}
	assertNoSecrets(t, s)
}

func enqueueRaw(t *testing.T, c *asynq.Client, p layout.Recognize) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.EnqueueContext(ctx, asynq.NewTask(layout.TypeRecognize, b), asynq.MaxRetry(3)); err != nil {
		t.Fatal(err)
	}
}
