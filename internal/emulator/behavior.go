// Package emulator holds what every vendor emulator shares: the document an
// image shows (Derive), latency, rate limits, fault injection and call
// counting. Each vendor's wire format lives in its own sub-package
// (emulator/clovaocr, emulator/ekyc, emulator/nhn), which decides how each
// condition looks on its wire, exactly as the vendor's documents say.
package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Behavior is the knobs every vendor emulator takes. The zero value answers
// at once, without limits or faults.
type Behavior struct {
	Latency       time.Duration `json:"latency"`       // added to every call
	LatencyJitter time.Duration `json:"latencyJitter"` // plus up to this much, uniformly
	RPS           float64       `json:"rps"`           // calls per second allowed; 0 = unlimited
	Burst         int           `json:"burst"`         // token-bucket burst (defaults to 1 when RPS > 0)
	MaxConcurrent int           `json:"maxConcurrent"` // calls in flight allowed; 0 = unlimited

	// Random faults, each a probability 0..1 drawn per call.
	FailureRate     float64       `json:"failureRate"`     // recognition failure (CLOVA inferResult FAILURE, ...)
	ErrorRate       float64       `json:"errorRate"`       // recognition exception (CLOVA inferResult ERROR, ...)
	ServerErrorRate float64       `json:"serverErrorRate"` // HTTP 5xx in the vendor's error shape
	ThrottleRate    float64       `json:"throttleRate"`    // a throttle answer even under the limit (429 bursts)
	SlowRate        float64       `json:"slowRate"`        // a slow answer
	SlowDelay       time.Duration `json:"slowDelay"`       // how slow (default 5s)
	TruncateRate    float64       `json:"truncateRate"`    // a 200 whose body is cut short
}

// Markers put in an image's bytes force a fault for that image, so tests can
// aim a fault at one document. The CLOVA emulator, for instance, answers an
// image containing MarkerFailure with inferResult FAILURE.
var (
	MarkerFailure      = []byte("EMULATOR:FAILURE")   // recognition failure
	MarkerError        = []byte("EMULATOR:ERROR")     // recognition exception
	MarkerServerError  = []byte("EMULATOR:5XX")       // always 5xx
	MarkerFlaky        = []byte("EMULATOR:FLAKY")     // 5xx on the first call for this image, then success
	MarkerNotJSON      = []byte("EMULATOR:NOTJSON")   // 200 with a body that is not JSON
	MarkerTruncated    = []byte("EMULATOR:TRUNCATED") // 200 with a truncated JSON body
	MarkerNoFace       = []byte("EMULATOR:NOFACE")    // face compare: no face found
	MarkerNotAuthentic = []byte("EMULATOR:FORGED")    // NHN authenticity: not authentic
)

// Fault is what the behavior decided for one call.
type Fault int

const (
	FaultNone        Fault = iota
	FaultFailure           // answer a recognition failure
	FaultError             // answer a recognition exception
	FaultServerError       // answer 5xx
	FaultThrottle          // answer the vendor's throttle error
	FaultNotJSON           // answer 200 with a non-JSON body
	FaultTruncated         // answer 200 with a truncated body
)

// Engine applies a Behavior and counts calls. It is safe for concurrent use.
// Its Behavior can be changed while running (SetBehavior), which is how fault
// tests switch faults on and off mid-batch.
type Engine struct {
	mu       sync.Mutex
	b        Behavior
	limiter  *rate.Limiter
	inflight int
	seen     map[string]int       // image sha256 -> calls
	reqIDs   map[string]time.Time // requestId -> first seen
	dupIDs   int
	counts   map[string]int // "endpoint outcome" -> calls
	rnd      *rand.Rand
}

// NewEngine returns an engine with behavior b.
func NewEngine(b Behavior) *Engine {
	e := &Engine{seen: map[string]int{}, counts: map[string]int{}, reqIDs: map[string]time.Time{}, rnd: rand.New(rand.NewPCG(1, 2))}
	e.SetBehavior(b)
	return e
}

// SetBehavior replaces the behavior.
func (e *Engine) SetBehavior(b Behavior) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b.SlowDelay == 0 {
		b.SlowDelay = 5 * time.Second
	}
	e.b = b
	e.limiter = nil
	if b.RPS > 0 {
		burst := b.Burst
		if burst < 1 {
			burst = 1
		}
		e.limiter = rate.NewLimiter(rate.Limit(b.RPS), burst)
	}
}

// Behavior returns the current behavior.
func (e *Engine) Behavior() Behavior {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.b
}

// Admit is called once per well-formed, authenticated call, before the
// vendor emulator answers. It enforces the rate and concurrency limits,
// sleeps the latency, and draws faults. image is the decoded image (nil if
// the endpoint has none). The caller must call the returned done func when
// the answer is written, with the outcome it answered (for Stats).
func (e *Engine) Admit(ctx context.Context, endpoint string, image []byte) (Fault, func(outcome string)) {
	e.mu.Lock()
	b := e.b
	sum := ""
	if image != nil {
		sum = sha256hex(image)
		e.seen[sum]++
	}
	calls := e.seen[sum]
	throttled := false
	if e.limiter != nil && !e.limiter.Allow() {
		throttled = true
	}
	if b.MaxConcurrent > 0 && e.inflight >= b.MaxConcurrent {
		throttled = true
	}
	roll := func(p float64) bool { return p > 0 && e.rnd.Float64() < p }
	fault := FaultNone
	slow := false
	switch {
	case throttled || roll(b.ThrottleRate):
		fault = FaultThrottle
	case bytes.Contains(image, MarkerFailure) || roll(b.FailureRate):
		fault = FaultFailure
	case bytes.Contains(image, MarkerError) || roll(b.ErrorRate):
		fault = FaultError
	case bytes.Contains(image, MarkerServerError) || (bytes.Contains(image, MarkerFlaky) && calls == 1) || roll(b.ServerErrorRate):
		fault = FaultServerError
	case bytes.Contains(image, MarkerNotJSON):
		fault = FaultNotJSON
	case bytes.Contains(image, MarkerTruncated) || roll(b.TruncateRate):
		fault = FaultTruncated
	}
	if roll(b.SlowRate) {
		slow = true
	}
	delay := b.Latency
	if b.LatencyJitter > 0 {
		delay += time.Duration(e.rnd.Int64N(int64(b.LatencyJitter)))
	}
	if slow {
		delay += b.SlowDelay
	}
	if fault != FaultThrottle {
		e.inflight++
	}
	e.mu.Unlock()

	if fault != FaultThrottle && delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	var once sync.Once
	return fault, func(outcome string) {
		once.Do(func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			if fault != FaultThrottle {
				e.inflight--
			}
			e.counts[endpoint+" "+outcome]++
		})
	}
}

// Count records a call that was rejected before Admit (bad request, bad
// secret), so Stats shows every call the vendor received.
func (e *Engine) Count(endpoint, outcome string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[endpoint+" "+outcome]++
}

// SeenRequestID records a requestId and reports whether it was already seen
// within window (0: ever). Every call counts, so tests can prove that no
// retry reuses a requestId (Stats.DuplicateRequestIDs).
func (e *Engine) SeenRequestID(id string, window time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	first, ok := e.reqIDs[id]
	if ok && (window == 0 || now.Sub(first) < window) {
		e.dupIDs++
		return true
	}
	e.reqIDs[id] = now
	return false
}

// Stats is what /_emulator/stats reports.
type Stats struct {
	// DuplicateRequestIDs counts calls that reused an earlier requestId.
	DuplicateRequestIDs int `json:"duplicateRequestIds"`
	RequestIDs          int `json:"requestIds"` // distinct requestIds seen
	// CallsByImage: image sha256 -> admitted calls that carried that image.
	CallsByImage map[string]int `json:"callsByImage"`
	// Calls: "endpoint outcome" -> calls, every call received.
	Calls map[string]int `json:"calls"`
}

// Stats returns a copy of the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{CallsByImage: map[string]int{}, Calls: map[string]int{}, DuplicateRequestIDs: e.dupIDs, RequestIDs: len(e.reqIDs)}
	for k, v := range e.seen {
		s.CallsByImage[k] = v
	}
	for k, v := range e.counts {
		s.Calls[k] = v
	}
	return s
}

// Reset clears the counters.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen, e.counts, e.reqIDs, e.dupIDs = map[string]int{}, map[string]int{}, map[string]time.Time{}, 0
}

// AdminHandler serves the emulator's control endpoints for one engine:
//
//	GET  .../stats     -> Stats
//	POST .../reset     -> clear the counters
//	GET  .../behavior  -> Behavior
//	PUT  .../behavior  -> replace the Behavior (JSON body; durations in nanoseconds)
func (e *Engine) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, e.Stats()) })
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) { e.Reset(); w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /behavior", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, e.Behavior()) })
	mux.HandleFunc("PUT /behavior", func(w http.ResponseWriter, r *http.Request) {
		var b Behavior
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.SetBehavior(b)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
