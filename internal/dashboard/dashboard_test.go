package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// doWith sends one request with extra headers (and Host, when set).
func doWith(t *testing.T, srv *httptest.Server, method, path, host string, h http.Header) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A page on another site must not pause a queue through the operator's
// browser: every non-GET request must be same-origin, by Origin or by
// Sec-Fetch-Site. Clients that send neither (curl, scripts) are no browser
// and keep working.
func TestCrossSiteMutationsRefused(t *testing.T) {
	b := setup(t)
	for _, login := range []bool{false, true} {
		o := Options{RedisOpt: b.redisOpt}
		if login {
			o.Username, o.Password = "ops", "pw"
		}
		srv := serve(t, o)
		auth := http.Header{}
		if login {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.SetBasicAuth("ops", "pw")
			auth = r.Header
		}
		with := func(k, v string) http.Header {
			h := auth.Clone()
			h.Set(k, v)
			return h
		}
		for name, h := range map[string]http.Header{
			"foreign Origin":            with("Origin", "http://evil.example"),
			"Origin of another port":    with("Origin", "http://127.0.0.1:1"),
			"Sec-Fetch-Site cross-site": with("Sec-Fetch-Site", "cross-site"),
			"Sec-Fetch-Site same-site":  with("Sec-Fetch-Site", "same-site"),
		} {
			if code := doWith(t, srv, http.MethodPost, "/api/queues/default:pause", "", h); code != http.StatusForbidden {
				t.Errorf("login %v, %s: pause answered %d, want 403", login, name, code)
			}
			if qi, err := b.insp.GetQueueInfo("default"); err != nil || qi.Paused {
				t.Fatalf("login %v, %s: the queue was paused (%v)", login, name, err)
			}
		}
		for name, h := range map[string]http.Header{
			"same Origin":                with("Origin", srv.URL),
			"Sec-Fetch-Site same-origin": with("Sec-Fetch-Site", "same-origin"),
			"no browser headers":         auth,
		} {
			if code := doWith(t, srv, http.MethodPost, "/api/queues/default:pause", "", h); code >= 300 {
				t.Errorf("login %v, %s: pause answered %d", login, name, code)
			}
			if code := doWith(t, srv, http.MethodPost, "/api/queues/default:resume", "", h); code >= 300 {
				t.Errorf("login %v, %s: resume answered %d", login, name, code)
			}
		}
		if code := doWith(t, srv, http.MethodGet, "/api/queues", "", with("Sec-Fetch-Site", "cross-site")); code != 200 {
			t.Errorf("login %v: a cross-site GET answered %d; reads stay open", login, code)
		}
	}
}

// Without a login, a page whose name was re-pointed at 127.0.0.1 (DNS
// rebinding) must not reach the dashboard: the Host must be a loopback name
// or the listen address.
func TestNoLoginChecksHost(t *testing.T) {
	b := setup(t)
	srv := serve(t, Options{RedisOpt: b.redisOpt, Addr: "127.0.0.1:8080"})
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for host, want := range map[string]int{
		"evil.example:" + port:           http.StatusForbidden,
		"evil.example":                   http.StatusForbidden,
		"127.0.0.1.nip.io:" + port:       http.StatusForbidden,
		"localhost.evil.example:" + port: http.StatusForbidden,
		"127.0.0.1:" + port:              200,
		"localhost:" + port:              200,
		"[::1]:" + port:                  200,
	} {
		for _, path := range []string{"/", "/api/queues", "/metrics"} {
			if code := doWith(t, srv, http.MethodGet, path, host, nil); code != want {
				t.Errorf("Host %s %s: %d, want %d", host, path, code, want)
			}
		}
	}
	// The listen address's own name is allowed; with a login, any Host is.
	named := serve(t, Options{RedisOpt: b.redisOpt, Addr: "dash.internal:8080"})
	if code := doWith(t, named, http.MethodGet, "/api/queues", "dash.internal:8080", nil); code != 200 {
		t.Errorf("Host = listen address: %d", code)
	}
	wild := serve(t, Options{RedisOpt: b.redisOpt, Addr: "0.0.0.0:8080", AllowNoLogin: true})
	if code := doWith(t, wild, http.MethodGet, "/api/queues", "10.1.2.3:8080", nil); code != 200 {
		t.Errorf("wildcard listener, IP literal Host: %d (no name, no rebinding)", code)
	}
	if code := doWith(t, wild, http.MethodGet, "/api/queues", "evil.example:8080", nil); code != http.StatusForbidden {
		t.Errorf("wildcard listener, foreign name: %d, want 403", code)
	}
	login := serve(t, Options{RedisOpt: b.redisOpt, Username: "ops", Password: "pw"})
	h := http.Header{}
	h.Set("Authorization", "Basic b3BzOnB3") // ops:pw
	if code := doWith(t, login, http.MethodGet, "/api/queues", "dash.example.com", h); code != 200 {
		t.Errorf("with a login, Host dash.example.com: %d", code)
	}
}

// Beyond loopback without a login the dashboard does not start, unless told
// --insecure-no-login (AllowNoLogin).
func TestServeRefusesNoLoginBeyondLoopback(t *testing.T) {
	b := setup(t)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	refused := make(chan error, 1)
	go func() { refused <- Serve(ctx, Options{RedisOpt: b.redisOpt, Addr: fmt.Sprintf("0.0.0.0:%d", port)}) }()
	select {
	case err = <-refused:
	case <-time.After(3 * time.Second):
		cancel()
		<-refused
		t.Fatal("Serve listened on 0.0.0.0 without a login")
	}
	if err == nil || !strings.Contains(err.Error(), "login") || !strings.Contains(err.Error(), "--insecure-no-login") {
		t.Fatalf("Serve on 0.0.0.0 without a login: %v; want a refusal naming the login and --insecure-no-login", err)
	}
	for _, o := range []Options{
		{RedisOpt: b.redisOpt, Addr: fmt.Sprintf("0.0.0.0:%d", port), AllowNoLogin: true},
		{RedisOpt: b.redisOpt, Addr: fmt.Sprintf("0.0.0.0:%d", port), Username: "u", Password: "p"},
	} {
		sctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- Serve(sctx, o) }()
		waitUp(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), done)
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve(%+v): %v", o.Addr, err)
		}
	}
}

func waitUp(t *testing.T, url string, done <-chan error) {
	t.Helper()
	for i := 0; i < 200; i++ {
		select {
		case err := <-done:
			t.Fatalf("Serve ended early: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}
