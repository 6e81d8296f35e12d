// Package e2e drives the built binaries (producer, worker, emulator)
// through the user-facing contract against real redis-server and MinIO.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

func newStack(t *testing.T, o stack.Options) *stack.Stack {
	t.Helper()
	s, err := stack.New(t.Context(), t.TempDir(), o)
	if err != nil {
		t.Fatalf("stack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := s.Logs()
			lines := strings.Split(logs, "\n")
			if len(lines) > 60 {
				lines = lines[len(lines)-60:]
			}
			t.Logf("last process log lines:\n%s", strings.Join(lines, "\n"))
		}
		s.Close()
	})
	return s
}

func bucket(t *testing.T, s *stack.Stack, name string) storage.Bucket {
	t.Helper()
	if err := s.Store.CreateBucket(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return s.Store.Bucket(name)
}

func put(t *testing.T, b storage.Bucket, key string, data []byte) {
	t.Helper()
	if _, err := b.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// producer runs the producer and fails the test unless it exits with want.
func producer(t *testing.T, s *stack.Stack, want int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, errOut, code, err := s.Run(ctx, "producer", args...)
	if err != nil {
		t.Fatalf("producer %v: %v", args, err)
	}
	if code != want {
		t.Fatalf("producer %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, out, errOut)
	}
	return out
}

// waitResults waits until n result objects (not raw, not batch summaries)
// exist under prefix.
func waitResults(t *testing.T, b storage.Bucket, prefix string, n int, timeout time.Duration) map[string]bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var keys map[string]bool
	for {
		keys = map[string]bool{}
		err := b.List(t.Context(), prefix, "", func(o storage.ObjectInfo) error {
			if strings.HasSuffix(o.Key, ".json") && !layout.Reserved(o.Key) {
				keys[o.Key] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) >= n {
			return keys
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d results under %s after %s", len(keys), n, prefix, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Result is the decoded result envelope, fields left generic.
type Result struct {
	Schema       string         `json:"schema"`
	Status       string         `json:"status"`
	DocumentType string         `json:"documentType"`
	Source       map[string]any `json:"source"`
	Vendor       map[string]any `json:"vendor"`
	Batch        string         `json:"batch"`
	Attempts     int            `json:"attempts"`
	StartedAt    string         `json:"startedAt"`
	CompletedAt  string         `json:"completedAt"`
	Fields       any            `json:"fields"`
	Error        *struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		VendorCode string `json:"vendorCode"`
		HTTPStatus int    `json:"httpStatus"`
		Retryable  bool   `json:"retryable"`
	} `json:"error"`
	raw []byte
}

func readResult(t *testing.T, b storage.Bucket, key string) Result {
	t.Helper()
	rc, info, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("result %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if info.ContentType != "application/json" {
		t.Errorf("%s: content type %q", key, info.ContentType)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("result %s is not JSON: %v\n%s", key, err, data)
	}
	r.raw = data
	return r
}

// checkFields compares a result's fields with what the emulator derives
// from the image bytes: proof that the result came from that image.
func checkFields(t *testing.T, key, docType string, fields any, image []byte) {
	t.Helper()
	want := vendortest.Expect(docType, emulator.Derive(image))
	for path, w := range want {
		got, ok := vendortest.Lookup(fields, path)
		if !ok {
			t.Errorf("%s: %s missing", key, path)
			continue
		}
		if wj := jsonRoundTrip(w); !reflect.DeepEqual(got, wj) {
			t.Errorf("%s: %s = %#v, want %#v", key, path, got, wj)
		}
	}
}

func jsonRoundTrip(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeManifest(t *testing.T, lines []map[string]any) string {
	t.Helper()
	var buf bytes.Buffer
	for _, l := range lines {
		b, _ := json.Marshal(l)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), "manifest.jsonl")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNoSecrets fails if any vendor secret or S3 secret key appears in
// any process log.
func assertNoSecrets(t *testing.T, s *stack.Stack) {
	t.Helper()
	logs, err := s.Logs()
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	if s.MinIO != nil {
		secrets["S3 secret key"] = s.MinIO.SecretKey
	}
	for k, v := range s.Secrets {
		secrets[k] = v
	}
	for name, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("%s appears in a log line", name)
		}
	}
	if len(logs) == 0 {
		t.Error("no logs at all: the check proves nothing")
	}
}

func enqueuedLine(t *testing.T, out string) (enq, skip int, batch string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if _, err := fmt.Sscanf(last, "enqueued %d skipped %d batch %s", &enq, &skip, &batch); err != nil {
		t.Fatalf("last line %q is not 'enqueued N skipped M batch ID': %v", last, err)
	}
	return enq, skip, batch
}
