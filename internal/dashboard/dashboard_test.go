package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

type bundle struct {
	redisOpt asynq.RedisClientOpt
	insp     *asynq.Inspector
}

// setup starts Redis with one pending task in queue "default", so the queue
// exists for asynqmon and the queue metrics.
func setup(t *testing.T) bundle {
	t.Helper()
	opt := asynq.RedisClientOpt{Addr: testenv.StartRedis(t).Addr}
	c := asynq.NewClient(opt)
	defer c.Close()
	if _, err := c.Enqueue(asynq.NewTask("ocr:document", []byte(`{}`)), asynq.Queue("default")); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { insp.Close() })
	return bundle{redisOpt: opt, insp: insp}
}

func serve(t *testing.T, o Options) *httptest.Server {
	t.Helper()
	d, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(func() { srv.Close(); d.Close() })
	return srv
}

type call struct {
	method, path, user, pass string
}

func do(t *testing.T, srv *httptest.Server, c call) (int, string) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodGet
	}
	req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestDashboardServesUIAPIAndMetrics(t *testing.T) {
	b := setup(t)
	srv := serve(t, Options{RedisOpt: b.redisOpt})

	code, body := do(t, srv, call{path: "/"})
	if code != 200 || !strings.Contains(body, "<title>Asynq - Monitoring</title>") {
		t.Fatalf("GET / = %d, body starts %.200q", code, body)
	}
	// The SPA's own routes are served the index page too (page reloads work).
	if code, body := do(t, srv, call{path: "/queues/default"}); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("GET /queues/default = %d", code)
	}

	code, body = do(t, srv, call{path: "/api/queues"})
	if code != 200 {
		t.Fatalf("GET /api/queues = %d %s", code, body)
	}
	var queues struct {
		Queues []struct {
			Queue   string `json:"queue"`
			Pending int    `json:"pending"`
		} `json:"queues"`
	}
	if err := json.Unmarshal([]byte(body), &queues); err != nil {
		t.Fatalf("api/queues: %v: %s", err, body)
	}
	if len(queues.Queues) != 1 || queues.Queues[0].Queue != "default" || queues.Queues[0].Pending != 1 {
		t.Errorf("api/queues = %s", body)
	}

	code, body = do(t, srv, call{path: "/metrics"})
	if code != 200 || !strings.Contains(body, `asynq_queue_size{queue="default"} 1`) ||
		!strings.Contains(body, `asynq_tasks_enqueued_total{queue="default",state="pending"} 1`) ||
		!strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, lacks queue size or runtime metrics:\n%.2000s", code, body)
	}
	if code, _ := do(t, srv, call{path: "/healthz"}); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := do(t, srv, call{path: "/readyz"}); code != 200 {
		t.Errorf("/readyz = %d", code)
	}

	// Not read-only: pausing a queue works.
	if code, body := do(t, srv, call{method: "POST", path: "/api/queues/default:pause"}); code != 204 && code != 200 {
		t.Fatalf("pause = %d %s", code, body)
	}
	info, err := b.insp.GetQueueInfo("default")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Paused {
		t.Error("queue not paused by the API call")
	}
}

func TestReadOnlyRefusesMutations(t *testing.T) {
	b := setup(t)
	srv := serve(t, Options{RedisOpt: b.redisOpt, ReadOnly: true})

	if code, _ := do(t, srv, call{path: "/api/queues"}); code != 200 {
		t.Errorf("read-only GET /api/queues = %d", code)
	}
	for _, c := range []call{
		{method: "POST", path: "/api/queues/default:pause"},
		{method: "DELETE", path: "/api/queues/default"},
		{method: "DELETE", path: "/api/queues/default/pending_tasks:delete_all"},
	} {
		if code, _ := do(t, srv, c); code != http.StatusMethodNotAllowed {
			t.Errorf("read-only %s %s = %d, want 405", c.method, c.path, code)
		}
	}
	info, err := b.insp.GetQueueInfo("default")
	if err != nil {
		t.Fatal(err)
	}
	if info.Paused || info.Pending != 1 {
		t.Errorf("read-only dashboard changed the queue: paused=%v pending=%d", info.Paused, info.Pending)
	}
}

func TestLoginRequired(t *testing.T) {
	b := setup(t)
	srv := serve(t, Options{RedisOpt: b.redisOpt, Username: "ops", Password: "s3cret"})

	for _, path := range []string{"/", "/api/queues", "/metrics"} {
		if code, _ := do(t, srv, call{path: path}); code != 401 {
			t.Errorf("GET %s without login = %d, want 401", path, code)
		}
		if code, _ := do(t, srv, call{path: path, user: "ops", pass: "wrong"}); code != 401 {
			t.Errorf("GET %s with wrong password = %d, want 401", path, code)
		}
		if code, _ := do(t, srv, call{path: path, user: "ops", pass: "s3cret"}); code != 200 {
			t.Errorf("GET %s with login = %d, want 200", path, code)
		}
	}
	// Probes need no login.
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := do(t, srv, call{path: path}); code != 200 {
			t.Errorf("GET %s = %d, want 200 without login", path, code)
		}
	}
}

func TestReadyzReportsFailedChecks(t *testing.T) {
	b := setup(t)
	storageDown := errors.New("storage: bucket unreachable")
	srv := serve(t, Options{RedisOpt: b.redisOpt, Ready: func(context.Context) error { return storageDown }})
	if code, body := do(t, srv, call{path: "/readyz"}); code != 503 || !strings.Contains(body, "storage") {
		t.Errorf("/readyz = %d %q, want 503 naming storage", code, body)
	}

	// Redis gone: readiness fails, liveness does not.
	dead := serve(t, Options{RedisOpt: asynq.RedisClientOpt{Addr: "127.0.0.1:1"}})
	if code, body := do(t, dead, call{path: "/readyz"}); code != 503 || !strings.Contains(body, "redis") {
		t.Errorf("/readyz without Redis = %d %q", code, body)
	}
	if code, _ := do(t, dead, call{path: "/healthz"}); code != 200 {
		t.Errorf("/healthz without Redis = %d", code)
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New accepted options without Redis")
	}
	if _, err := New(Options{RedisOpt: asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, Username: "ops"}); err == nil {
		t.Error("New accepted a username without password")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:80": true, "[::1]:8080": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.5:8080": false, "nonsense": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}
