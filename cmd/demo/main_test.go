package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoRunsEverySample: the demo, run as CI runs it (no terminal),
// brings up the stack, gets the expected result for every sample, copies
// the results locally and exits 0 once it has stopped everything.
func TestDemoRunsEverySample(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"--dir", dir, "--keep=false"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "summary: 15 documents, 14 succeeded, 1 failed") {
		t.Errorf("no summary line:\n%s", out.String())
	}
	// The default is the folder case: producer run on file storage, no MinIO.
	if !strings.Contains(out.String(), "$ producer run --type receipt --out file://") || strings.Contains(out.String(), "MinIO") {
		t.Errorf("not the file-storage variant:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "dashboard was at http://127.0.0.1:") {
		t.Errorf("no dashboard address:\n%s", out.String())
	}
	var n int
	err := filepath.WalkDir(filepath.Join(dir, "results"), func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.Contains(p, "_ocr") {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var r struct {
			Schema string `json:"schema"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Schema != "ocr-result/v1" {
			t.Errorf("%s: not a result (%v): %s", p, err, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 15 {
		t.Errorf("%d local result files, want 15", n)
	}
}

func TestDemoUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--nope"}, &out, &errOut); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code := run([]string{"extra"}, &out, &errOut); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
}

// TestDemoS3: `make demo S3=1` still runs the MinIO variant with a worker.
func TestDemoS3(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"--s3", "--dir", dir, "--keep=false"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "summary: 15 documents, 14 succeeded, 1 failed") || !strings.Contains(out.String(), "Browse them in MinIO") {
		t.Errorf("no summary or MinIO line:\n%s", out.String())
	}
}
