package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestRunFolder: `producer run` enqueues, processes in its own process
// (no worker runs here), waits and prints the summary; exit 0 when every
// document succeeded. Its worker serves only the run's own queue: a task
// another user left in "default" stays there, and the run's queue is
// gone afterwards.
func TestRunFolder(t *testing.T) {
	s := newStack(t, stack.Options{Files: true})
	root := s.FileRoot
	b := fileBucket(t, s)
	images := map[string][]byte{}
	for i, name := range []string{"a.png", "b.png", "c.jpg"} {
		img := testimages.PNG(int64(200+i), 40, 30, nil)
		if strings.HasSuffix(name, ".jpg") {
			img = testimages.JPEG(int64(200+i), 40, 30, nil)
		}
		put(t, b, "in/"+name, img)
		images["in/"+name] = img
	}
	put(t, b, "other/x.png", testimages.PNG(300, 40, 30, nil))
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "file://"+root+"/out/", "file://"+root+"/other/x.png")

	out := producer(t, s, 0, "run", "--type", "receipt", "--out", "file://"+root+"/out/", "--batch", "run1", "file://"+root+"/in/")
	if !strings.HasPrefix(out, "enqueued 3 skipped 0 batch run1\n") || !strings.Contains(out, "succeeded 3 failed 0") {
		t.Errorf("run output:\n%s", out)
	}
	for key, img := range images {
		r := readResult(t, b, "out/"+key+".json")
		if r.Status != "succeeded" {
			t.Errorf("%s: %s", key, r.raw)
			continue
		}
		checkFields(t, key, "receipt", r.Fields, img)
	}
	if _, err := b.Head(t.Context(), "out/other/x.png.json"); err == nil {
		t.Error("the run processed a task of the default queue")
	}
	// The run's results export from and to file storage: the batch by its
	// recorded output, the prefix by listing the folder.
	producer(t, s, 0, "export", "run1", "--to", "file://"+root+"/exports/")
	producer(t, s, 0, "export", "--prefix", "file://"+root+"/out/", "--format", "csv", "--to", "file://"+root+"/exports/all.csv")
	lines := strings.Split(strings.TrimSpace(string(getObject(t, b, "exports/run1.jsonl"))), "\n")
	if len(lines) != len(images) {
		t.Errorf("export run1 to a folder: %d lines, want %d", len(lines), len(images))
	}
	for key := range images {
		if !strings.Contains(string(getObject(t, b, "exports/run1.jsonl")), `"uri":"file://`+root+"/"+key+`"`) {
			t.Errorf("export run1 has no line for %s", key)
		}
	}
	if rows := strings.Split(strings.TrimSpace(string(getObject(t, b, "exports/all.csv"))), "\n"); len(rows) != 1+len(images) {
		t.Errorf("export --prefix file:// as CSV: %d rows, want a header and %d", len(rows), len(images))
	}
	// Outside storage.fileRoot: bad usage, before anything is read.
	if _, errOut, code, _ := s.Run(t.Context(), "producer", "export", "run1", "--to", "file:///elsewhere/x.jsonl"); code != 2 || !strings.Contains(errOut, "--to") {
		t.Errorf("export --to outside the root: exit %d, stderr %q; want 2", code, errOut)
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.Redis.Addr})
	defer insp.Close()
	if info, err := insp.GetQueueInfo("default"); err != nil || info.Pending != 1 {
		t.Errorf("default queue: %+v %v; want its one task still pending", info, err)
	}
	queues, err := insp.Queues()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		if strings.HasPrefix(q, "run-") {
			t.Errorf("queue %s left behind", q)
		}
	}
}

// TestRunPrivateRedisAndFailure: without redis.url the run starts its own
// redis-server; a document that fails makes the exit status 1 and is named
// in the summary, also when a second run skips it for its current result.
func TestRunPrivateRedisAndFailure(t *testing.T) {
	s := newStack(t, stack.Options{Files: true})
	cfg := strings.Replace(stack.FileConfig, "redis:\n  url: {{REDIS}}\n", "", 1)
	if cfg == stack.FileConfig {
		t.Fatal("FileConfig has no redis.url line to drop")
	}
	if err := s.WriteConfig(cfg); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REDIS_URL", "")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the producer's private redis-server keeps its files
	s.Redis.Stop()          // nothing to fall back on but the private server
	root := s.FileRoot
	b := fileBucket(t, s)
	put(t, b, "in/good.png", testimages.PNG(400, 40, 30, nil))
	put(t, b, "in/bad.jpg", []byte("not an image"))

	args := []string{"run", "--type", "receipt", "--out", "file://" + root + "/out/", "file://" + root + "/in/"}
	out := producer(t, s, 1, args...)
	if !strings.Contains(out, "succeeded 1 failed 1") || !strings.Contains(out, "failed invalid_image file://"+root+"/in/bad.jpg") {
		t.Errorf("run output:\n%s", out)
	}
	if r := readResult(t, b, "out/in/good.png.json"); r.Status != "succeeded" {
		t.Errorf("good.png: %s", r.raw)
	}
	out = producer(t, s, 1, args...)
	if !strings.HasPrefix(out, "enqueued 0 skipped 2 ") {
		t.Errorf("second run:\n%s", out)
	}
	// The private servers are gone with their directories.
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if strings.HasPrefix(e.Name(), "ocr-run-redis-") {
			t.Errorf("%s left in the run's temporary directory", e.Name())
		}
	}
}
