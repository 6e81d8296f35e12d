package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testenv"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestDashboardAndOps starts the dashboard binary against a running stack:
// the asynqmon page and API behind a login, Prometheus queue metrics,
// health and readiness (which follows the object store), and a read-only
// instance that refuses to pause a queue that the writable one can pause.
// The worker's own /metrics counts vendor calls without object keys.
func TestDashboardAndOps(t *testing.T) {
	s := newStack(t, stack.Options{})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	const secretKey = "customer-7731/kim-minsu-receipt.png" // an object key: personal data
	put(t, in, secretKey, testimages.PNG(42, 32, 24, nil))

	metricsAddr := dashAddr(t)
	if _, err := s.StartWorker("--concurrency", "2", "--metrics-addr", metricsAddr); err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "s3://inbox/"+secretKey)
	producer(t, s, 0, "enqueue", "--type", "receipt", "--queue", "critical", "--out", "s3://outbox/r2/", "s3://inbox/"+secretKey)
	waitResults(t, out, "r/", 1, time.Minute)
	waitResults(t, out, "r2/", 1, time.Minute)

	// The worker's /metrics: vendor calls counted, no object key in any label.
	code, body := dashGet(t, "http://"+metricsAddr+"/metrics", "", "")
	if code != 200 || !strings.Contains(body, "ocr_vendor_calls_total{") {
		t.Fatalf("worker /metrics: %d, no ocr_vendor_calls_total:\n%s", code, body)
	}
	for _, leak := range []string{"customer-7731", "kim-minsu", "inbox", "outbox"} {
		if strings.Contains(body, leak) {
			t.Errorf("worker /metrics mentions %q", leak)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := dashGet(t, "http://"+metricsAddr+p, "", ""); code != 200 {
			t.Errorf("worker %s: %d %s", p, code, body)
		}
	}

	// The stack's processes inherit the test's environment.
	user, pass := "ops", fmt.Sprintf("pw-%d", time.Now().UnixNano())
	t.Setenv("DASHBOARD_USERNAME", user)
	t.Setenv("DASHBOARD_PASSWORD", pass)
	rw := startDashboard(t, s)
	ro := startDashboard(t, s, "--read-only")

	// The page: a login is required, then asynqmon's HTML.
	if code, _ := dashGet(t, rw+"/", "", ""); code != http.StatusUnauthorized {
		t.Errorf("page without login: %d, want 401", code)
	}
	if code, _ := dashGet(t, rw+"/", user, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("page with a wrong password: %d, want 401", code)
	}
	code, body = dashGet(t, rw+"/", user, pass)
	if code != 200 || !strings.Contains(strings.ToLower(body), "<!doctype html") {
		t.Errorf("page: %d %.200s", code, body)
	}

	// Its API lists the queues that had tasks.
	if code, _ := dashGet(t, rw+"/api/queues", "", ""); code != http.StatusUnauthorized {
		t.Errorf("API without login: %d, want 401", code)
	}
	queues := dashQueues(t, rw, user, pass)
	for _, q := range []string{"default", "critical"} {
		if _, ok := queues[q]; !ok {
			t.Errorf("/api/queues lacks %q: %v", q, queues)
		}
	}

	// Prometheus: asynq's queue metrics, behind the login.
	if code, _ := dashGet(t, rw+"/metrics", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without login: %d, want 401", code)
	}
	code, body = dashGet(t, rw+"/metrics", user, pass)
	if code != 200 || !strings.Contains(body, `asynq_tasks_processed_total{queue="default"}`) || !strings.Contains(body, "asynq_queue_size{") {
		t.Errorf("/metrics: %d, no asynq queue metrics:\n%.2000s", code, body)
	}

	// Health stays open for probes.
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := dashGet(t, rw+p, "", ""); code != 200 {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}

	// Read-only refuses a pause; the writable dashboard pauses and resumes.
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.Redis.Addr})
	defer insp.Close()
	if code, _ := dashDo(t, http.MethodPost, ro+"/api/queues/default:pause", user, pass); code != http.StatusMethodNotAllowed {
		t.Errorf("read-only pause: %d, want 405", code)
	}
	if qi, err := insp.GetQueueInfo("default"); err != nil || qi.Paused {
		t.Errorf("after a read-only pause: paused=%v %v", qi != nil && qi.Paused, err)
	}
	if code, _ := dashGet(t, ro+"/api/queues", user, pass); code != 200 {
		t.Errorf("read-only API GET: %d", code)
	}
	if code, body := dashDo(t, http.MethodPost, rw+"/api/queues/default:pause", user, pass); code >= 300 {
		t.Errorf("pause: %d %s", code, body)
	}
	if qi, err := insp.GetQueueInfo("default"); err != nil || !qi.Paused {
		t.Errorf("pause did not pause the queue: %v", err)
	}
	if code, body := dashDo(t, http.MethodPost, rw+"/api/queues/default:resume", user, pass); code >= 300 {
		t.Errorf("resume: %d %s", code, body)
	}

	// Readiness follows the object store; liveness does not.
	s.MinIO.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := dashGet(t, rw+"/readyz", "", "")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "storage") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz with the store down: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := dashGet(t, rw+"/healthz", "", ""); code != 200 {
		t.Errorf("/healthz with the store down: %d, want 200", code)
	}

	logs, _ := s.Logs()
	if strings.Contains(logs, pass) {
		t.Error("the dashboard password appears in a log line")
	}
	assertNoSecrets(t, s)
}

// dashAddr is a free loopback address.
func dashAddr(t *testing.T) string {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// startDashboard runs the dashboard binary and waits until it answers.
func startDashboard(t *testing.T, s *stack.Stack, args ...string) string {
	t.Helper()
	addr := dashAddr(t)
	p, err := s.Start("dashboard", append([]string{"--addr", addr, "--config", s.ConfigPath}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("dashboard did not start:\n%s", p.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dashGet(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	return dashDo(t, http.MethodGet, url, user, pass)
}

func dashDo(t *testing.T, method, url, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dashQueues reads asynqmon's queue list: name -> size.
func dashQueues(t *testing.T, base, user, pass string) map[string]float64 {
	t.Helper()
	code, body := dashGet(t, base+"/api/queues", user, pass)
	if code != 200 {
		t.Fatalf("/api/queues: %d %s", code, body)
	}
	var v struct {
		Queues []map[string]any `json:"queues"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/api/queues is not JSON: %v\n%s", err, body)
	}
	m := map[string]float64{}
	for _, q := range v.Queues {
		name, _ := q["queue"].(string)
		size, _ := q["size"].(float64)
		m[name] = size
	}
	return m
}

// TestDashboardBrowserAttacks runs the dashboard binary without a login, as
// its loopback default is: a page on another site cannot pause a queue
// through the operator's browser, a rebound DNS name cannot reach it, and
// it refuses to listen beyond loopback unless --insecure-no-login.
func TestDashboardBrowserAttacks(t *testing.T) {
	t.Setenv("DASHBOARD_USERNAME", "")
	t.Setenv("DASHBOARD_PASSWORD", "")
	s := newStack(t, stack.Options{})
	in := bucket(t, s, "inbox")
	bucket(t, s, "outbox")
	put(t, in, "a.png", testimages.PNG(5, 16, 16, nil))
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "s3://inbox/a.png") // no worker: stays pending
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: s.Redis.Addr})
	defer insp.Close()
	paused := func() bool {
		qi, err := insp.GetQueueInfo("default")
		if err != nil {
			t.Fatal(err)
		}
		return qi.Paused
	}

	base := startDashboard(t, s)
	pause := base + "/api/queues/default:pause"
	for name, h := range map[string][2]string{
		"foreign Origin":            {"Origin", "http://evil.example"},
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site"},
	} {
		if code := dashHeaders(t, http.MethodPost, pause, "", h); code != http.StatusForbidden {
			t.Errorf("%s: pause answered %d, want 403", name, code)
		}
		if paused() {
			t.Fatalf("%s: the queue was paused", name)
		}
	}
	for _, host := range []string{"evil.example", "evil.example:" + base[strings.LastIndex(base, ":")+1:]} {
		if code := dashHeaders(t, http.MethodGet, base+"/api/queues", host, [2]string{}); code != http.StatusForbidden {
			t.Errorf("Host %s (DNS rebinding): %d, want 403", host, code)
		}
	}
	if code := dashHeaders(t, http.MethodPost, pause, "", [2]string{"Origin", base}); code >= 300 || !paused() {
		t.Errorf("same-origin pause: %d, paused %v", code, paused())
	}
	if code := dashHeaders(t, http.MethodPost, base+"/api/queues/default:resume", "", [2]string{"Sec-Fetch-Site", "same-origin"}); code >= 300 || paused() {
		t.Errorf("same-origin resume: %d, paused %v", code, paused())
	}

	// Beyond loopback: refused without a login, started with the flag.
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	wide := fmt.Sprintf("0.0.0.0:%d", port)
	_, errOut, code, err := s.Run(t.Context(), "dashboard", "--config", s.ConfigPath, "--addr", wide)
	if err != nil || code != 1 || !strings.Contains(errOut, "--insecure-no-login") {
		t.Errorf("dashboard --addr %s without a login: exit %d (%v); want 1 and a message naming --insecure-no-login:\n%s", wide, code, err, errOut)
	}
	p, err := s.Start("dashboard", "--config", s.ConfigPath, "--addr", wide, "--insecure-no-login")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port)); err == nil {
			resp.Body.Close()
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("dashboard --insecure-no-login did not start:\n%s", p.LogTail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dashHeaders sends one request with an optional Host and one header.
func dashHeaders(t *testing.T, method, url, host string, h [2]string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if h[0] != "" {
		req.Header.Set(h[0], h[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
