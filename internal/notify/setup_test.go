package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// bundle is one test's real Redis, asynq client and inspector.
type bundle struct {
	rdb       *redis.Client
	opt       asynq.RedisClientOpt
	client    *asynq.Client
	inspector *asynq.Inspector
	metrics   *Metrics
	logs      *syncBuffer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	opt := asynq.RedisClientOpt{Addr: r.Addr}
	b := &bundle{rdb: rdb, opt: opt, client: asynq.NewClient(opt), inspector: asynq.NewInspector(opt),
		metrics: NewMetrics(prometheus.NewRegistry()), logs: &syncBuffer{}}
	t.Cleanup(func() { b.client.Close(); b.inspector.Close(); rdb.Close() })
	return b
}

func (b *bundle) deps(receivers ...Receiver) Deps {
	return Deps{Receivers: receivers, Client: b.client, Redis: b.rdb, Metrics: b.metrics}
}

// serve runs an asynq server with the notify handlers (and extra ones) and
// fast retries, logging through zerolog into b.logs. It stops on cleanup.
func (b *bundle) serve(t *testing.T, h *Handler, mux *asynq.ServeMux) {
	t.Helper()
	if mux == nil {
		mux = asynq.NewServeMux()
	}
	h.Register(mux)
	logger := zerolog.New(b.logs).Level(zerolog.DebugLevel)
	srv := asynq.NewServer(b.opt, asynq.Config{
		Concurrency:              2,
		Queues:                   map[string]int{"critical": 1, "default": 1},
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 50 * time.Millisecond },
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		LogLevel:                 asynq.FatalLevel,
		BaseContext:              func() context.Context { return logger.WithContext(context.Background()) },
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
}

// hit is one request a test receiver got.
type hit struct {
	header http.Header
	body   []byte
	valid  error // Verify's verdict
}

// receiver is a loopback httptest server that verifies every signature and
// answers with the status of answer(n) for the n-th request (1-based).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newReceiver(t *testing.T, secret string, answer func(n int) int) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := Verify(secret, r.Header.Get(HeaderSignature), body, 0, time.Now())
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{header: r.Header.Clone(), body: body, valid: err})
		n := len(rc.hits)
		rc.mu.Unlock()
		w.WriteHeader(answer(n))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decodeBody(t *testing.T, b []byte, data any) Body {
	t.Helper()
	var env struct {
		Body
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	if err := json.Unmarshal(env.Data, data); err != nil {
		t.Fatalf("data: %v", err)
	}
	return env.Body
}

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
