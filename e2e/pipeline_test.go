package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

var clovaTypes = []string{result.TypeReceipt, result.TypeCreditCard, result.TypeNameCard, result.TypeBizLicense,
	result.TypeIDCard, result.TypeMedicalReceipt, result.TypePassport}

// TestPipelineAllClovaTypes: 56 documents across the seven CLOVA OCR types,
// half through multipart bodies (enqueued by prefix), half through JSON
// bodies (enqueued by manifest); every result present, correct and
// traceable to its image; a second enqueue skips everything; no secret in
// any log line.
func TestPipelineAllClovaTypes(t *testing.T) {
	s := newStack(t, stack.Options{})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")

	images := map[string][]byte{} // source key -> bytes
	typeOf := map[string]string{}
	var manifest []map[string]any
	seed := int64(1)
	for _, typ := range clovaTypes {
		for i := 0; i < 8; i++ {
			seed++
			var img []byte
			ext := "png"
			if i%2 == 0 {
				img = testimages.PNG(seed, 48, 32, nil)
			} else {
				img, ext = testimages.JPEG(seed, 48, 32, nil), "jpg"
			}
			mode := "mp"
			if i >= 4 {
				mode = "json"
			}
			key := fmt.Sprintf("docs/%s/%s/%02d.%s", typ, mode, i, ext)
			put(t, in, key, img)
			images[key], typeOf[key] = img, typ
			if mode == "json" {
				manifest = append(manifest, map[string]any{"uri": "s3://inbox/" + key, "type": typ, "vendor": "clova-json"})
			}
		}
	}
	worker, err := s.StartWorker("--concurrency", "8")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, typ := range clovaTypes {
		o := producer(t, s, 0, "enqueue", "--type", typ, "--vendor", "clova", "--out", "s3://outbox/results/",
			"--batch", "all-"+typ, "s3://inbox/docs/"+typ+"/mp/")
		n, skipped, b := enqueuedLine(t, o)
		if n != 4 || skipped != 0 || b != "all-"+typ {
			t.Fatalf("%s: %q", typ, o)
		}
		total += n
	}
	o := producer(t, s, 0, "enqueue", "--out", "s3://outbox/results/", "--batch", "all-json", "@"+writeManifest(t, manifest))
	if n, _, _ := enqueuedLine(t, o); n != len(manifest) {
		t.Fatalf("manifest: %q", o)
	}
	total += len(manifest)

	keys := waitResults(t, out, "results/", total, 3*time.Minute)
	if len(keys) != total {
		t.Fatalf("%d results, want %d", len(keys), total)
	}
	for key, img := range images {
		rkey := "results/" + key + ".json"
		if !keys[rkey] {
			t.Errorf("no result for %s", key)
			continue
		}
		r := readResult(t, out, rkey)
		typ := typeOf[key]
		if r.Schema != result.Schema || r.Status != result.StatusSucceeded || r.DocumentType != typ {
			t.Errorf("%s: schema %q status %q type %q error %+v", key, r.Schema, r.Status, r.DocumentType, r.Error)
			continue
		}
		if r.Source["uri"] != "s3://inbox/"+key || r.Source["sha256"] != sha(img) || r.Source["size"] != float64(len(img)) {
			t.Errorf("%s: source %v", key, r.Source)
		}
		wantVendor, wantFormat := "clova", "png"
		if strings.Contains(key, "/json/") {
			wantVendor = "clova-json"
		}
		if strings.HasSuffix(key, ".jpg") {
			wantFormat = "jpg"
		}
		if r.Vendor["name"] != wantVendor || r.Vendor["endpoint"] != "document/"+typ || r.Source["format"] != wantFormat {
			t.Errorf("%s: vendor %v format %v", key, r.Vendor, r.Source["format"])
		}
		if r.Vendor["requestId"] == "" || r.StartedAt == "" || r.CompletedAt == "" || r.Attempts != 1 {
			t.Errorf("%s: envelope %s", key, r.raw)
		}
		checkFields(t, key, typ, r.Fields, img)
	}

	// Everything has a current result: a second enqueue skips it all.
	o = producer(t, s, 0, "enqueue", "--type", result.TypeReceipt, "--vendor", "clova", "--out", "s3://outbox/results/",
		"s3://inbox/docs/receipt/mp/")
	if n, skipped, _ := enqueuedLine(t, o); n != 0 || skipped != 4 {
		t.Errorf("second enqueue: %q", o)
	}
	o = producer(t, s, 0, "enqueue", "--out", "s3://outbox/results/", "@"+writeManifest(t, manifest))
	if n, skipped, _ := enqueuedLine(t, o); n != 0 || skipped != len(manifest) {
		t.Errorf("second manifest enqueue: %q", o)
	}
	// --force re-reads.
	o = producer(t, s, 0, "enqueue", "--type", result.TypeReceipt, "--vendor", "clova", "--out", "s3://outbox/results/",
		"--force", "s3://inbox/docs/receipt/mp/00.png")
	if n, _, _ := enqueuedLine(t, o); n != 1 {
		t.Errorf("--force: %q", o)
	}

	// Batch status counts what finished.
	st := producer(t, s, 0, "status", "all-receipt")
	if !strings.Contains(st, "succeeded 4") {
		t.Errorf("status: %q", st)
	}
	worker.Stop()
	if err := worker.Wait(time.Second); err != nil {
		t.Errorf("worker exit after SIGTERM: %v", err)
	}
	assertNoSecrets(t, s)
}

// TestEnqueueTwiceOneTask: the same object for the same type and output,
// enqueued twice before any worker runs, is one task.
func TestEnqueueTwiceOneTask(t *testing.T) {
	s := newStack(t, stack.Options{})
	in := bucket(t, s, "inbox")
	bucket(t, s, "outbox")
	put(t, in, "a.png", testimages.PNG(7, 16, 16, nil))
	o1 := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "s3://inbox/a.png")
	o2 := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "s3://inbox/a.png")
	if n, _, _ := enqueuedLine(t, o1); n != 1 {
		t.Errorf("first: %q", o1)
	}
	if n, skipped, _ := enqueuedLine(t, o2); n != 0 || skipped != 1 {
		t.Errorf("second: %q", o2)
	}
	// Dry run enqueues nothing.
	o3 := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/other/", "--dry-run", "s3://inbox/a.png")
	if n, _, _ := enqueuedLine(t, o3); n != 1 {
		t.Errorf("dry run: %q", o3)
	}
}

// TestProducerUsage: the contract's exit codes and messages. Help goes to
// stdout; a usage error or failure says on stderr what is wrong, and
// nothing on stdout (where scripts read the "enqueued" line).
func TestProducerUsage(t *testing.T) {
	s := newStack(t, stack.Options{})
	if o := producer(t, s, 0, "--help"); !strings.Contains(o, "producer enqueue") || !strings.Contains(o, "producer status") {
		t.Errorf("--help does not list the commands:\n%s", o)
	}
	if o := producer(t, s, 0, "enqueue", "--help"); !strings.Contains(o, "producer enqueue --type TYPE") || !strings.Contains(o, "-out") {
		t.Errorf("enqueue --help does not show its usage and flags:\n%s", o)
	}
	for _, c := range []struct {
		exit int
		says string
		args []string
	}{
		{2, `unknown command "bogus"`, []string{"bogus"}},
		{2, "--out is required", []string{"enqueue", "--type", "receipt", "s3://inbox/a.png"}},
		{2, "flag provided but not defined: -nope", []string{"enqueue", "--out", "s3://o/", "--type", "receipt", "--nope", "s3://inbox/a.png"}},
		// Bad input is bad usage (issue 13, the contract's exit 2): an
		// unknown type, an unconfigured vendor.
		{2, `unknown document type "recipe"`, []string{"enqueue", "--type", "recipe", "--out", "s3://o/", "s3://inbox/a.png"}},
		{2, `vendor "nope" is not configured`, []string{"enqueue", "--type", "receipt", "--vendor", "nope", "--out", "s3://o/", "s3://inbox/a.png"}},
		{1, "/does/not/exist.yaml", []string{"--config", "/does/not/exist.yaml", "enqueue", "--type", "receipt", "--out", "s3://o/", "s3://inbox/a.png"}},
	} {
		out, errOut := producerFails(t, s, c.exit, c.args...)
		if !strings.Contains(errOut, c.says) {
			t.Errorf("producer %v: stderr %q does not say %q", c.args, errOut, c.says)
		}
		if out != "" {
			t.Errorf("producer %v: stdout %q, want nothing", c.args, out)
		}
	}
}

// producerFails runs the producer, which must exit with code want, and
// returns what it wrote to stdout and stderr.
func producerFails(t *testing.T, s *stack.Stack, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	stdout, stderr, code, err := s.Run(ctx, "producer", args...)
	if err != nil {
		t.Fatalf("producer %v: %v", args, err)
	}
	if code != want {
		t.Fatalf("producer %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, stdout, stderr)
	}
	return stdout, stderr
}
