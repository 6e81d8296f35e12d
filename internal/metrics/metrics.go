// Package metrics holds the project's Prometheus collectors: vendor calls and
// their latency, rate-limit waits, throttling, halted vendors, results by
// document type and bytes fetched from storage, plus asynq's queue metrics.
//
// Label values are bounded enums only: vendor config names, vendor endpoints
// ("document/receipt", "id-card/stand-alone"), outcomes ("ok" or a result-v1
// error code), document types, result statuses and codes. Object keys, URIs,
// request ids, batch ids and anything read from a document never become a
// label: they would make the series count unbounded and could leak personal
// data into the monitoring system. As a second line of defence every label
// value passes through [sanitize], which collapses anything that does not
// look like an enum to "other".
package metrics

import (
	"regexp"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ocrbatch/ocrworker/internal/result"
)

const namespace = "ocr"

// OutcomeOK is the outcome label of a vendor call that returned an answer
// the client could use.
const OutcomeOK = "ok"

// Buckets for vendor latency: OCR calls take from ~100 ms to tens of seconds.
var vendorLatencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60}

// Metrics are the project's own collectors. Rate-limit waits, throttles
// and vendor halts are measured where they happen, by internal/ratelimit
// (ocr_ratelimit_*, ocr_vendor_halted). The zero value is not usable;
// build one with New. A nil *Metrics is a valid no-op, so code paths that run
// without metrics (tests, one-off commands) need no checks.
type Metrics struct {
	vendorCalls    *prometheus.CounterVec
	vendorLatency  *prometheus.HistogramVec
	results        *prometheus.CounterVec
	bytesFetched   prometheus.Counter
	sourcesFetched prometheus.Counter
	pages          *prometheus.CounterVec
}

// New creates the collectors and registers them on reg. It panics if reg
// already holds collectors with the same names (a programming error, as with
// prometheus.MustRegister).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		vendorCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "vendor_calls_total",
			Help: "Vendor API calls by vendor (config name), endpoint and outcome (ok or a result-v1 error code).",
		}, []string{"vendor", "endpoint", "outcome"}),
		vendorLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "vendor_call_duration_seconds",
			Help:    "Vendor API call latency, from request sent to answer read.",
			Buckets: vendorLatencyBuckets,
		}, []string{"vendor", "endpoint", "outcome"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "results_total",
			Help: "Final results written, by document type, status and result-v1 error code (none on success).",
		}, []string{"document_type", "status", "code"}),
		bytesFetched: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "source_bytes_fetched_total",
			Help: "Bytes of source images read from object storage.",
		}),
		sourcesFetched: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "sources_fetched_total",
			Help: "Source objects read from object storage.",
		}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "pages_total",
			Help: "Pages read from sources (one vendor call each, retries aside), by document type.",
		}, []string{"document_type"}),
	}
	reg.MustRegister(m.vendorCalls, m.vendorLatency, m.results, m.bytesFetched, m.sourcesFetched, m.pages)
	return m
}

// NewRegistry returns a registry with the Go runtime and process collectors,
// the usual base of a /metrics endpoint.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// RegisterQueueMetrics adds asynq's queue metrics (asynq_queue_size,
// asynq_queue_latency_seconds, asynq_tasks_processed_total, ...) to reg. They
// are read from Redis on every scrape, so register them in one process only
// (the dashboard) or every replica reports the same queues.
func RegisterQueueMetrics(reg prometheus.Registerer, inspector *asynq.Inspector) error {
	return reg.Register(asynqmetrics.NewQueueMetricsCollector(inspector))
}

// VendorCall records one vendor API call. outcome is OutcomeOK or a result-v1
// error code.
func (m *Metrics) VendorCall(vendor, endpoint, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	vendor, endpoint, outcome = sanitize(vendor), sanitize(endpoint), sanitize(outcome)
	m.vendorCalls.WithLabelValues(vendor, endpoint, outcome).Inc()
	m.vendorLatency.WithLabelValues(vendor, endpoint, outcome).Observe(d.Seconds())
}

// Result counts one final result. code is the result-v1 error code, "" for a
// success (recorded as "none").
func (m *Metrics) Result(docType, status, code string) {
	if m == nil {
		return
	}
	if code == "" {
		code = "none"
	}
	m.results.WithLabelValues(documentType(docType), sanitize(status), sanitize(code)).Inc()
}

// BytesFetched records one source object of n bytes read from storage.
func (m *Metrics) BytesFetched(n int64) {
	if m == nil || n < 0 {
		return
	}
	m.bytesFetched.Add(float64(n))
	m.sourcesFetched.Inc()
}

// Pages counts n pages read of a source of docType: a one-page source
// counts 1, a three-page PDF 3 (with types.<type>.pages: first, 1).
func (m *Metrics) Pages(docType string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.pages.WithLabelValues(documentType(docType)).Add(float64(n))
}

// documentType is the document_type label: a known type, else "other".
// The value comes from the task payload, which any producer writes.
func documentType(t string) string {
	if result.KnownType(t) {
		return t
	}
	return "other"
}

// enumLike matches what bounded label values look like: short identifiers,
// possibly with a path-like endpoint ("id-card/stand-alone").
var enumLike = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,47}$`)

// sanitize maps a label value that does not look like an enum to "other", so
// a caller that passes an object key or free text by mistake cannot blow up
// the series count. Values with more than two path segments are rejected too:
// endpoints have at most two, object keys usually more.
func sanitize(v string) string {
	if !enumLike.MatchString(v) || strings.Count(v, "/") > 1 {
		return "other"
	}
	return v
}
