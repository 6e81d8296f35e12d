package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// attempt is one POST the test receiver saw.
type attempt struct {
	event, id string
	status    int
	body      []byte
}

// receiver is a webhook endpoint on loopback that answers 500 to its first
// `fail` requests, checks every signature itself (the HMAC of the README,
// not the package's Verify) and records what it saw.
type receiver struct {
	secret string
	fail   int

	mu       sync.Mutex
	attempts []attempt
	badSig   []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	sig := r.Header.Get("X-OCR-Signature")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := checkSignature(rc.secret, sig, body); err != nil {
		rc.badSig = append(rc.badSig, err.Error())
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	status := http.StatusNoContent
	if len(rc.attempts) < rc.fail {
		status = http.StatusInternalServerError
	}
	rc.attempts = append(rc.attempts, attempt{event: r.Header.Get("X-OCR-Event"), id: r.Header.Get("X-OCR-Delivery"), status: status, body: body})
	w.WriteHeader(status)
}

func (rc *receiver) snapshot() []attempt {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]attempt(nil), rc.attempts...)
}

// checkSignature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, fresh.
func checkSignature(secret, header string, body []byte) error {
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("timestamp %q", ts)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	if want := hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(v1), []byte(want)) {
		return fmt.Errorf("signature %q does not match", header)
	}
	return nil
}

// delivered returns the accepted attempts of an event.
func delivered(as []attempt, event string) []attempt {
	var out []attempt
	for _, a := range as {
		if a.event == event && a.status < 300 {
			out = append(out, a)
		}
	}
	return out
}

// TestWebhookDeliveries: a receiver that fails its first two deliveries
// with 500 still gets batch.completed once, with the batch's counts, and
// document.failed listing the failed source and its code; every retry of a
// delivery carries the same X-OCR-Delivery (equal to the body's id); every
// request is signed; `producer status` and the metrics show the deliveries.
func TestWebhookDeliveries(t *testing.T) {
	rc := &receiver{secret: "whsec-" + sha([]byte(t.Name()))[:16], fail: 2}
	srv := httptest.NewServer(rc) // 127.0.0.1: http is allowed to loopback
	defer srv.Close()
	t.Setenv("OCR_WEBHOOK_SECRET", rc.secret) // the binaries inherit the test's environment
	s := newStack(t, stack.Options{Config: stack.DefaultConfig + `
notify:
  - name: test-receiver
    url: ` + srv.URL + `/hooks/ocr?token=t0ken
    secret: ${OCR_WEBHOOK_SECRET}
    events: [batch.completed, document.failed, vendor.halted]
`})
	in := bucket(t, s, "inbox")
	bucket(t, s, "outbox")
	put(t, in, "wh/a.png", testimages.PNG(201, 48, 32, nil))
	put(t, in, "wh/b.png", testimages.PNG(202, 48, 32, nil))
	put(t, in, "wh/torn.png", []byte("this is not an image at all, just text\n"))

	metricsAddr := freeAddr(t)
	if _, err := s.StartWorker("--concurrency", "4", "--metrics-addr", metricsAddr); err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/wh/", "--batch", "hooks-1", "s3://inbox/wh/")
	waitBatchDone(t, s, "hooks-1", 2*time.Minute)

	// Retries back off 10 s, then 20 s; document.failed waits for the end
	// of its minute. Together well under three minutes.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		as := rc.snapshot()
		if len(delivered(as, "batch.completed")) > 0 && len(delivered(as, "document.failed")) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every event delivered after 3 minutes: %d attempts %+v", len(as), as)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a duplicate would arrive now
	as := rc.snapshot()
	if len(rc.badSig) > 0 {
		t.Errorf("requests with a bad signature: %v", rc.badSig)
	}
	if as[0].status != 500 || as[1].status != 500 {
		t.Fatalf("the first two attempts were not the failing ones: %+v", as[:2])
	}

	// Every failed attempt was retried under the same delivery ID, which
	// the body carries too; nothing but retries repeats an ID.
	ok := map[string]int{}
	for _, a := range as {
		var b struct {
			ID    string `json:"id"`
			Event string `json:"event"`
		}
		if err := json.Unmarshal(a.body, &b); err != nil || b.ID != a.id || b.Event != a.event || a.id == "" {
			t.Errorf("attempt header id %q event %q, body %s", a.id, a.event, a.body)
		}
		if a.status < 300 {
			ok[a.id]++
		}
	}
	for _, a := range as {
		if a.status >= 300 && ok[a.id] != 1 {
			t.Errorf("failed delivery %s (%s) accepted %d times on retry, want once", a.id, a.event, ok[a.id])
		}
	}

	// batch.completed: once, with the counts.
	bc := delivered(as, "batch.completed")
	if len(bc) != 1 {
		t.Fatalf("batch.completed accepted %d times, want once", len(bc))
	}
	var done struct {
		Data struct {
			Batch                             string
			Total, Succeeded, Failed, Skipped int
			StartedAt, FinishedAt             time.Time
		}
	}
	if err := json.Unmarshal(bc[0].body, &done); err != nil {
		t.Fatal(err)
	}
	d := done.Data
	if d.Batch != "hooks-1" || d.Total != 3 || d.Succeeded != 2 || d.Failed != 1 || d.Skipped != 0 || d.FinishedAt.Before(d.StartedAt) || d.StartedAt.IsZero() {
		t.Errorf("batch.completed data %+v", d)
	}

	// document.failed: the failed source and its code, nothing else.
	df := delivered(as, "document.failed")
	if len(df) != 1 {
		t.Fatalf("document.failed accepted %d times, want once (one minute, one failure)", len(df))
	}
	var failed struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(df[0].body, &failed); err != nil {
		t.Fatal(err)
	}
	wantData := map[string]any{"batch": "hooks-1", "dropped": float64(0),
		"failures": []any{map[string]any{"source": "s3://inbox/wh/torn.png", "code": "invalid_image"}}}
	if !reflect.DeepEqual(failed.Data, wantData) {
		t.Errorf("document.failed data %v, want %v", failed.Data, wantData)
	}

	// producer status: the receiver's line (scheme and host, never the
	// path or token) and how each event of the batch went.
	st := producer(t, s, 0, "status", "hooks-1")
	if !strings.Contains(st, "webhook test-receiver "+srv.URL+": delivered 2, gave up 0, ok") ||
		!strings.Contains(st, "  batch.completed: delivered") || !strings.Contains(st, "  document.failed: delivered") {
		t.Errorf("status:\n%s", st)
	}
	if strings.Contains(st, "t0ken") || strings.Contains(st, "/hooks/ocr") {
		t.Errorf("status shows the receiver's path or token:\n%s", st)
	}
	// Metrics count the attempts by outcome.
	m := httpGet(t, "http://"+metricsAddr+"/metrics")
	fails := 0
	for _, ev := range []string{"batch.completed", "document.failed"} {
		line := fmt.Sprintf(`ocr_notify_deliveries_total{event=%q,outcome="delivered"} 1`, ev)
		if !strings.Contains(m, line) {
			t.Errorf("metrics lack %s", line)
		}
		var n int
		if _, err := fmt.Sscanf(after(m, fmt.Sprintf(`ocr_notify_attempts_total{event=%q,outcome="http_5xx"} `, ev)), "%d", &n); err == nil {
			fails += n
		}
	}
	if fails != 2 {
		t.Errorf("metrics count %d failed attempts, want 2", fails)
	}
	// The secret and the URL's token never reach a log.
	logs, _ := s.Logs()
	if strings.Contains(logs, rc.secret) || strings.Contains(logs, "t0ken") {
		t.Error("a log line holds the webhook secret or the URL's token")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// after returns what follows the first occurrence of sep in s ("" if none).
func after(s, sep string) string {
	_, rest, ok := strings.Cut(s, sep)
	if !ok {
		return ""
	}
	return rest
}

// TestRunWebhook: `producer run` builds the worker's webhooks too, and a
// finished run sends batch.completed before it drops its own queue.
func TestRunWebhook(t *testing.T) {
	rc := &receiver{secret: "whsec-" + sha([]byte(t.Name()))[:16]}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	t.Setenv("OCR_WEBHOOK_SECRET", rc.secret)
	s := newStack(t, stack.Options{Files: true, Config: stack.FileConfig + `
notify:
  - name: test-receiver
    url: ` + srv.URL + `/hooks/ocr
    secret: ${OCR_WEBHOOK_SECRET}
    events: [batch.completed]
`})
	root := s.FileRoot
	put(t, fileBucket(t, s), "in/a.png", testimages.PNG(211, 48, 32, nil))
	out := producer(t, s, 0, "run", "--type", "receipt", "--out", "file://"+root+"/out/", "--batch", "run-hooks", "file://"+root+"/in/")
	if !strings.Contains(out, "succeeded 1 failed 0") {
		t.Fatalf("run output:\n%s", out)
	}
	// The run has returned: its deliveries were made while it waited.
	got := delivered(rc.snapshot(), "batch.completed")
	if len(got) != 1 || !strings.Contains(string(got[0].body), `"run-hooks"`) {
		t.Errorf("batch.completed deliveries after the run: %d (all attempts: %d); want one for run-hooks", len(got), len(rc.snapshot()))
	}
}
