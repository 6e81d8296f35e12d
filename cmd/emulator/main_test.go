package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// syncBuffer is a log sink the server goroutine and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the binary's run() on a free port and returns its base URL.
func start(t *testing.T, args ...string) (base string, logs *syncBuffer, stop func() int) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	rc := make(chan int, 1)
	go func() {
		rc <- run(ctx, append([]string{"--addr", "127.0.0.1:0", "--addr-file", addrFile, "--log-level", "debug"}, args...), logs)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		if err == nil {
			base = "http://" + strings.TrimSpace(string(b))
			break
		}
		select {
		case code := <-rc:
			t.Fatalf("exited %d before listening: %s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address file: %s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := false
	var code int
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			code = <-rc
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return base, logs, stop
}

func clovaCall(t *testing.T, base, secret string, image []byte) (int, []byte) {
	t.Helper()
	body := fmt.Sprintf(`{"version":"V2","requestId":"r-%d","timestamp":1,"images":[{"format":"jpg","name":"demo","data":%q}]}`,
		time.Now().UnixNano(), base64.StdEncoding.EncodeToString(image))
	req, _ := http.NewRequest(http.MethodPost, base+"/clova-ocr/document/receipt", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-OCR-SECRET", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestServesCLOVAAndItsAdmin(t *testing.T) {
	const secret = "s3cr3t-value"
	base, logs, stop := start(t, "--clova-secret", secret, "--quota", "1")
	img := testimages.JPEG(1, 64, 40, nil)
	status, body := clovaCall(t, base, secret, img)
	if status != 200 || !bytes.Contains(body, []byte(`"inferResult":"SUCCESS"`)) {
		t.Fatalf("status %d: %s", status, body)
	}
	// --quota applies: the second admitted call is over it.
	if status, body := clovaCall(t, base, secret, img); status != 400 || !bytes.Contains(body, []byte(`"0023"`)) {
		t.Errorf("over quota: %d %s", status, body)
	}
	if status, _ := clovaCall(t, base, "wrong", img); status != 401 {
		t.Errorf("wrong secret: %d", status)
	}

	resp, err := http.Get(base + "/_emulator/clova-ocr/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st emulator.Stats
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Calls["document/receipt SUCCESS"] != 1 || st.Calls["document/receipt 0023"] != 1 || st.Calls["document/receipt 0002"] != 1 {
		t.Errorf("stats %+v", st)
	}

	if code := stop(); code != 0 {
		t.Errorf("exit %d after shutdown", code)
	}
	out := logs.String()
	if strings.Contains(out, secret) || strings.Contains(out, base64.StdEncoding.EncodeToString(img)[:32]) {
		t.Errorf("logs hold the secret or image bytes: %s", out)
	}
	if !strings.Contains(out, `"path":"/clova-ocr/document/receipt"`) {
		t.Errorf("no access log line: %s", out)
	}
}

func TestSecretFromEnvironment(t *testing.T) {
	t.Setenv("EMULATOR_CLOVA_SECRET", "from-env")
	base, _, _ := start(t)
	if status, body := clovaCall(t, base, "from-env", testimages.JPEG(2, 64, 40, nil)); status != 200 {
		t.Errorf("status %d: %s", status, body)
	}
}

func TestBehaviorFlagsReachTheEngine(t *testing.T) {
	base, _, _ := start(t, "--clova-secret", "x", "--rps", "2.5", "--burst", "3", "--latency", "5ms", "--failure-rate", "0.25")
	resp, err := http.Get(base + "/_emulator/clova-ocr/behavior")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b emulator.Behavior
	_ = json.NewDecoder(resp.Body).Decode(&b)
	if b.RPS != 2.5 || b.Burst != 3 || b.Latency != 5*time.Millisecond || b.FailureRate != 0.25 {
		t.Errorf("behavior %+v", b)
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"--no-such-flag"}, 2},
		{[]string{"extra"}, 2},
		{[]string{"--failure-rate", "1.5"}, 2},
		{[]string{"--rps", "-1"}, 2},
		{[]string{"--log-format", "xml"}, 2},
		{[]string{"--addr", "256.0.0.1:bad"}, 1},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), c.args, &out); code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, out.String())
		}
	}
}
