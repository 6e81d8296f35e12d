package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// testConfig writes a configuration whose Redis is never reached: every
// case below is refused before the producer talks to Redis or storage.
func testConfig(t *testing.T, root string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	cfg := "redis: {url: redis://127.0.0.1:1/0}\nstorage: {fileRoot: " + root + "}\n" +
		"vendors:\n  clova: {kind: clova-ocr, url: https://ocr.example.com/x, secret: s}\nroutes: {receipt: clova}\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEnqueueMessages: bad input is bad usage (exit 2) with a message that
// says what is wrong with what the user wrote, never a made-up source.
func TestEnqueueMessages(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(t, root)
	manifest := filepath.Join(t.TempDir(), "m.jsonl")
	os.WriteFile(manifest, []byte(`{"uri": "file://`+root+`/in/a.png", "type": "receipt"}`+"\n"+
		`{"uri": "file://`+root+`/in/../../etc/passwd", "type": "receipt"}`+"\n"), 0o600)
	typo := filepath.Join(t.TempDir(), "typo.jsonl")
	os.WriteFile(typo, []byte(`{"uri": "s3://in/a.png", "type": "pasport", "out": "s3://out/"}`+"\n"), 0o600)
	for _, tc := range []struct {
		args       []string
		want       []string
		notWant    string
		exit       int
		withConfig bool
	}{
		{args: []string{"enqueue", "--type", "reciept", "--out", "s3://o/", "s3://in/receipts/"},
			want: []string{`--type: unknown document type "reciept": did you mean "receipt"?`}, notWant: "receipts/x", exit: 2},
		{args: []string{"run", "--type", "recipt", "--out", "file:///o/", "file:///in/"},
			want: []string{`did you mean "receipt"?`}, exit: 2},
		{args: []string{"enqueue", "--type", "zzz", "--out", "s3://o/", "s3://in/a.png"},
			want: []string{`unknown document type "zzz" (want one of receipt,`}, notWant: "did you mean", exit: 2},
		{args: []string{"enqueue", "--type", "receipt", "--vendor", "nope", "--out", "s3://o/", "s3://in/receipts/"},
			want: []string{`s3://in/receipts/: vendor "nope" is not configured`}, notWant: "receipts/x", exit: 2, withConfig: true},
		{args: []string{"enqueue", "--type", "receipt", "--out", "file://" + root + "/out/", "file:///etc/"},
			want: []string{`"file:///etc/": outside the file root ` + root + ` (storage.fileRoot)`}, exit: 2, withConfig: true},
		{args: []string{"enqueue", "--type", "receipt", "--out", "file:///elsewhere/", "file://" + root + "/in/a.png"},
			want: []string{`output: "file:///elsewhere/": outside the file root`}, exit: 2, withConfig: true},
		{args: []string{"enqueue", "--out", "file://" + root + "/out/", "@" + manifest},
			want: []string{`line 2: "file://` + root + `/in/../../etc/passwd": path has a ".." segment`}, exit: 2, withConfig: true},
		{args: []string{"enqueue", "@" + typo},
			want: []string{`line 1: s3://in/a.png: unknown document type "pasport": did you mean "passport"?`}, exit: 2, withConfig: true},
		{args: []string{"run", "--queue", "critical", "--type", "receipt", "--out", "file:///o/", "file:///in/"},
			want: []string{"--queue: producer run uses a queue of its own"}, exit: 2},
		{args: []string{"remask", "file://" + root + "/../x/"}, want: []string{`".." segment`}, exit: 2, withConfig: true},
	} {
		args := tc.args
		if tc.withConfig {
			args = append([]string{"--config", cfg}, args...)
		}
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		msg := errOut.String()
		if code != tc.exit {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.exit, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: stderr %q, want %q", tc.args, msg, w)
			}
		}
		if tc.notWant != "" && strings.Contains(msg, tc.notWant) {
			t.Errorf("%v: stderr %q holds %q", tc.args, msg, tc.notWant)
		}
	}
}

func TestSummaryLine(t *testing.T) {
	sum := producer.Summary{Enqueued: 16, Batch: "b1"}
	if got := summaryLine(sum, producer.Options{DryRun: true}); got != "enqueued 16 skipped 0 batch b1 (dry run: nothing was enqueued)" {
		t.Errorf("dry run: %q", got)
	}
	if got := summaryLine(sum, producer.Options{}); got != "enqueued 16 skipped 0 batch b1" {
		t.Errorf("%q", got)
	}
}

// A missing bucket is named in a few words, whatever the SDK said.
func TestMissingBucketMessage(t *testing.T) {
	sdk := errors.New("operation error S3: ListObjectsV2, https response error StatusCode: 404, RequestID: 17A, HostID: dd9, api error NoSuchBucket: The specified bucket does not exist")
	err := enqueueError(errors.Join(errors.New("list results"), &storage.NoBucketError{Bucket: "ocr-out", Err: sdk}))
	if err == nil || err.Error() != `bucket "ocr-out" does not exist` {
		t.Errorf("got %v", err)
	}
}

// Redis down: one line naming the address, not the pool's retries.
func TestRedisDownMessage(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	var out, errOut bytes.Buffer
	code := run([]string{"--config", cfg, "status", "some-batch"}, &out, &errOut)
	if code != 1 || strings.TrimSpace(errOut.String()) != "error: cannot connect to 127.0.0.1:1: connection refused" {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
