package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestRollingDeployNewVendor (issue 10 item 6): a deploy adds vendor
// "clova2". A worker still on the old config meets a task for it first; it
// used to write a permanent unknown_vendor result although a new worker
// could read the task. It hands the task back (worker.unknownGrace), logs
// why without the object key, and the new worker reads it.
func TestRollingDeployNewVendor(t *testing.T) {
	newCfg := faultConfig{RPS: 100, Burst: 10, Concurrency: 4, Workers: 4, MaxRetry: 3}.String() + `  unknownGrace: 1m
`
	newCfg = strings.Replace(newCfg, "routes:", `  clova2:
    kind: clova-ocr
    url: {{EMU}}/clova-ocr
    secret: ${CLOVA_OCR_SECRET}
routes:`, 1)
	s := newStack(t, stack.Options{EmulatorArgs: []string{"--latency", "20ms"}, Config: newCfg})
	// The old config: the same file without clova2.
	oldCfg := strings.Replace(newCfg, `  clova2:
    kind: clova-ocr
    url: {{EMU}}/clova-ocr
    secret: ${CLOVA_OCR_SECRET}
`, "", 1)
	r := strings.NewReplacer("{{REDIS}}", s.Redis.URL, "{{S3}}", s.MinIO.Endpoint, "{{EMU}}", s.EmulatorURL)
	oldPath := filepath.Join(s.Dir, "old-config.yaml")
	if err := os.WriteFile(oldPath, []byte(r.Replace(oldCfg)), 0o600); err != nil {
		t.Fatal(err)
	}
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	put(t, in, "docs/secret-name.png", testimages.PNG(77, 12, 12, nil))

	oldWorker, err := s.StartWorker("--config", oldPath)
	if err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--type", "receipt", "--vendor", "clova2", "--out", "s3://outbox/r/", "--batch", "rolling", "s3://inbox/docs/")
	err = stack.WaitFor(t.Context(), "the old worker to hand the task back", 20*time.Second, 200*time.Millisecond, func() (bool, error) {
		logs, err := s.Logs()
		return strings.Contains(logs, "handed back for a worker that does"), err
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // more hand-backs; still no result
	if _, err := out.Head(t.Context(), "r/docs/secret-name.png.json"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the old worker wrote a result within the grace (%v)", err)
	}

	if _, err := s.StartWorker(); err != nil { // the new config
		t.Fatal(err)
	}
	// A rolling deploy replaces the old worker. While both run, either may
	// take the handed-back task each time it comes due (every 30 s at most),
	// so a test that kept the old one could wait past the grace (seen in CI).
	oldWorker.Stop()
	waitResults(t, out, "r/", 1, time.Minute)
	res := readResult(t, out, "r/docs/secret-name.png.json")
	if res.Status != "succeeded" || res.Vendor["name"] != "clova2" || res.Attempts != 1 {
		t.Errorf("result: %s", res.raw)
	}
	logs, err := s.Logs()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs, "secret-name") {
		t.Error("an object key appears in a log line")
	}
	st := producer(t, s, 0, "status", "rolling")
	if !strings.Contains(st, "succeeded 1") {
		t.Errorf("batch status: %q", st)
	}
}
