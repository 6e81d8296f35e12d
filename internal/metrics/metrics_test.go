package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

func TestCollectorsRecordWhatTheWorkerReports(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	m.VendorCall("clova", "document/receipt", OutcomeOK, 300*time.Millisecond)
	m.VendorCall("clova", "document/receipt", OutcomeOK, 2*time.Second)
	m.VendorCall("nhn", "id-card/stand-alone", string(ocrerr.RateLimited), 50*time.Millisecond)
	m.Result("receipt", "succeeded", "")
	m.Result("id-card", "failed", string(ocrerr.VendorRejected))
	m.BytesFetched(1000)
	m.BytesFetched(24)

	if got := testutil.ToFloat64(m.vendorCalls.WithLabelValues("clova", "document/receipt", "ok")); got != 2 {
		t.Errorf("clova receipt ok calls = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.bytesFetched); got != 1024 {
		t.Errorf("bytes fetched = %v, want 1024", got)
	}

	const want = `
# HELP ocr_results_total Final results written, by document type, status and result-v1 error code (none on success).
# TYPE ocr_results_total counter
ocr_results_total{code="none",document_type="receipt",status="succeeded"} 1
ocr_results_total{code="vendor_rejected",document_type="id-card",status="failed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ocr_results_total"); err != nil {
		t.Error(err)
	}

	// The latency histogram puts the 2 s call above the 1 s bucket.
	body := scrape(t, reg)
	for _, line := range []string{
		`ocr_vendor_call_duration_seconds_bucket{endpoint="document/receipt",outcome="ok",vendor="clova",le="1"} 1`,
		`ocr_vendor_call_duration_seconds_bucket{endpoint="document/receipt",outcome="ok",vendor="clova",le="2"} 2`,
		`ocr_vendor_call_duration_seconds_count{endpoint="id-card/stand-alone",outcome="rate_limited",vendor="nhn"} 1`,
		`ocr_sources_fetched_total 2`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("scrape lacks %q", line)
		}
	}
}

func TestLabelsNeverCarryObjectKeysOrFreeText(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)

	key := "s3://in-bucket/customers/hong-gildong/900101-1234567.jpg"
	m.VendorCall("clova", key, OutcomeOK, time.Millisecond)
	m.Result("receipt", "failed", "vendor said: name 홍길동 not readable")
	m.VendorCall(strings.Repeat("x", 200), "document/receipt", OutcomeOK, time.Millisecond)

	body := scrape(t, reg)
	for _, leak := range []string{"hong-gildong", "900101", "홍길동", "in-bucket", strings.Repeat("x", 49)} {
		if strings.Contains(body, leak) {
			t.Errorf("scrape contains %q", leak)
		}
	}
	if got := testutil.ToFloat64(m.vendorCalls.WithLabelValues("clova", "other", "ok")); got != 1 {
		t.Errorf("call with key as endpoint not collapsed to other: %v", got)
	}
}

func TestSanitizeKeepsRealEnums(t *testing.T) {
	for _, v := range []string{"clova", "nhn-prod_2", "document/receipt", "id-card/authenticity",
		"face/compare", "biz-license", "quota_exhausted", "ok"} {
		if got := sanitize(v); got != v {
			t.Errorf("sanitize(%q) = %q", v, got)
		}
	}
	for _, v := range []string{"", "a/b/c", "has space", "-leading", "s3://b/k"} {
		if got := sanitize(v); got != "other" {
			t.Errorf("sanitize(%q) = %q, want other", v, got)
		}
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *Metrics
	m.VendorCall("v", "e", "ok", time.Second)
	m.Result("receipt", "succeeded", "")
	m.BytesFetched(1)
}

func TestNewRegistryServesRuntimeMetrics(t *testing.T) {
	body := scrape(t, NewRegistry())
	if !strings.Contains(body, "go_goroutines") {
		t.Error("registry lacks go_goroutines")
	}
}

func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOpsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg).BytesFetched(7)
	var readyErr error
	srv := httptest.NewServer(OpsHandler(reg, func(context.Context) error { return readyErr }))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "ocr_source_bytes_fetched_total 7") {
		t.Errorf("/metrics = %d %q", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d while ready", code)
	}
	readyErr = errors.New("redis: connection refused")
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "redis") {
		t.Errorf("/readyz = %d %q while Redis is down", code, body)
	}
}

// The document type comes from the task payload, which anyone who can
// enqueue writes: only the known types become label values, so a payload
// cannot mint series (or carry text into Prometheus).
func TestResultDocumentTypeOnlyKnownTypes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	for _, dt := range []string{"receipt", "face-compare", "kim_800101_1234567", "Receipt", "x1", "passport"} {
		m.Result(dt, "failed", string(ocrerr.UnknownDocumentType))
	}
	const want = `
# HELP ocr_results_total Final results written, by document type, status and result-v1 error code (none on success).
# TYPE ocr_results_total counter
ocr_results_total{code="unknown_document_type",document_type="face-compare",status="failed"} 1
ocr_results_total{code="unknown_document_type",document_type="other",status="failed"} 3
ocr_results_total{code="unknown_document_type",document_type="passport",status="failed"} 1
ocr_results_total{code="unknown_document_type",document_type="receipt",status="failed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ocr_results_total"); err != nil {
		t.Error(err)
	}
}

func TestPagesAreCountedByDocumentTypeOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Pages("receipt", 3)
	m.Pages("receipt", 1)
	m.Pages("s3://bucket/secret.pdf", 2) // never a label
	m.Pages("biz-license", 0)
	const want = `
# HELP ocr_pages_total Pages read from sources (one vendor call each, retries aside), by document type.
# TYPE ocr_pages_total counter
ocr_pages_total{document_type="other"} 2
ocr_pages_total{document_type="receipt"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ocr_pages_total"); err != nil {
		t.Error(err)
	}
}
