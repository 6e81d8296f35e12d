package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// fileBucket is the stack's file root as a bucket, to write sources and
// read results the way the binaries do.
func fileBucket(t *testing.T, s *stack.Stack) storage.Bucket {
	t.Helper()
	st, err := file.New(file.Options{Root: s.FileRoot})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.Bucket(s.FileRoot)
}

// TestFileToFileBatch: a batch from a folder to a folder through the real
// producer and worker, no MinIO: each result lies at OUT/KEY.json (the key
// is the path below storage.fileRoot) and came from its own image; a
// manifest line that climbs out with ".." is refused before anything is
// enqueued, and a symlink that leaves the root ends as a failed result
// without the file behind it being read.
func TestFileToFileBatch(t *testing.T) {
	s := newStack(t, stack.Options{Files: true})
	root := s.FileRoot
	b := fileBucket(t, s)
	images := map[string][]byte{}
	for i := range 6 {
		img := testimages.PNG(int64(100+i), 40, 30, nil)
		key := fmt.Sprintf("in/scans/%02d.png", i)
		put(t, b, key, img)
		images[key] = img
	}
	// Outside the root: a file a symlink inside points at.
	outside := filepath.Join(filepath.Dir(root), "outside.png")
	if err := os.WriteFile(outside, testimages.PNG(999, 40, 30, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "in", "escape.png")); err != nil {
		t.Fatal(err)
	}

	// ".." in a manifest line: bad usage, nothing enqueued.
	climb := writeManifest(t, []map[string]any{
		{"uri": "file://" + root + "/in/scans/00.png", "type": "receipt"},
		{"uri": "file://" + root + "/in/../../outside.png", "type": "receipt"},
	})
	_, errOut, code, err := s.Run(t.Context(), "producer", "enqueue", "--out", "file://"+root+"/out/", "@"+climb)
	if err != nil || code != 2 || !strings.Contains(errOut, `line 2`) || !strings.Contains(errOut, `".." segment`) {
		t.Fatalf("manifest with ..: exit %d %v, stderr %q; want exit 2 naming line 2 and the .. segment", code, err, errOut)
	}
	// A URI outside the root: bad usage too.
	_, errOut, code, _ = s.Run(t.Context(), "producer", "enqueue", "--type", "receipt", "--out", "file://"+root+"/out/", "file://"+outside)
	if code != 2 || !strings.Contains(errOut, "outside the file root") {
		t.Fatalf("source outside the root: exit %d, stderr %q", code, errOut)
	}

	if _, err := s.StartWorker("--concurrency", "4"); err != nil {
		t.Fatal(err)
	}
	o := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "file://"+root+"/out/", "--batch", "files",
		"file://"+root+"/in/scans/")
	if n, skipped, _ := enqueuedLine(t, o); n != len(images) || skipped != 0 {
		t.Fatalf("prefix: %q", o)
	}
	escape := writeManifest(t, []map[string]any{{"uri": "file://" + root + "/in/escape.png", "type": "receipt"}})
	producer(t, s, 0, "enqueue", "--out", "file://"+root+"/out/", "--batch", "escape", "@"+escape)

	keys := waitResults(t, b, "out/", len(images)+1, 2*time.Minute)
	for key, img := range images {
		rkey := "out/" + key + ".json"
		if !keys[rkey] {
			t.Errorf("no result at %s/%s", root, rkey)
			continue
		}
		r := readResult(t, b, rkey)
		if r.Status != "succeeded" || r.Source["uri"] != "file://"+root+"/"+key {
			t.Errorf("%s: status %s source %v", rkey, r.Status, r.Source)
			continue
		}
		checkFields(t, rkey, "receipt", r.Fields, img)
	}
	r := readResult(t, b, "out/in/escape.png.json")
	if r.Status != "failed" || r.Error == nil || r.Error.Code != "source_not_found" {
		t.Errorf("escaping symlink: %s", r.raw)
	}
	// Enqueued again: every source has its current result.
	o = producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "file://"+root+"/out/", "file://"+root+"/in/scans/")
	if n, skipped, _ := enqueuedLine(t, o); n != 0 || skipped != len(images) {
		t.Errorf("second enqueue: %q", o)
	}
	assertNoSecrets(t, s)
	// Paths are keys: they stay out of the logs as S3 keys do.
	if logs, _ := s.Logs(); strings.Contains(logs, "scans/0") || strings.Contains(logs, "escape.png") {
		t.Error("a source path appears in a log line")
	}
}
