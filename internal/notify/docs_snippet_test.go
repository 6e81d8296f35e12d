package notify

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Go check in README.md and docs/webhooks.md is verbatim the one
// TestDocumentedReceiverCheckAgreesWithSign proves, and the shell one-liner
// in both accepts a real signature and rejects a tampered body.
func TestDocumentedVerificationSnippets(t *testing.T) {
	src, err := os.ReadFile("stdlib_verify_test.go")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(src), "func verifyWebhook(")
	end := strings.Index(string(src)[start:], "\n}\n")
	goCheck := string(src)[start : start+end+2]
	var shell string
	for _, doc := range []string{"../../README.md", "../../docs/webhooks.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), goCheck) {
			t.Errorf("%s: the Go verification differs from verifyWebhook in stdlib_verify_test.go", doc)
		}
		_, rest, ok := strings.Cut(string(b), "```sh\nt=${SIG#t=}")
		line, _, _ := strings.Cut(rest, "\n")
		if !ok {
			t.Errorf("%s: no shell verification", doc)
			continue
		}
		if shell != "" && shell != line {
			t.Errorf("%s: the shell verification differs from the other document's", doc)
		}
		shell = line
	}
	if _, err := exec.LookPath("openssl"); err != nil || shell == "" {
		t.Skip("no openssl to run the shell check")
	}
	dir := t.TempDir()
	body := []byte(`{"id":"x","event":"batch.completed","data":{"batch":"b","total":1}}`)
	if err := os.WriteFile(filepath.Join(dir, "body.json"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(sig string) string {
		cmd := exec.Command("sh", "-c", "t=${SIG#t=}"+shell)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SIG="+sig, "OCR_WEBHOOK_SECRET=whsec_doc")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("shell check: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run(Sign("whsec_doc", time.Now(), body)); got != "valid" {
		t.Errorf("shell check of a real signature: %q", got)
	}
	if got := run(Sign("whsec_doc", time.Now(), []byte(`{"id":"y"}`))); got != "INVALID" {
		t.Errorf("shell check of another body's signature: %q", got)
	}
}
