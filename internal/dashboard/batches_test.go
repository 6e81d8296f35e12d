package dashboard

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// send makes one request without following redirects; h holds extra headers.
func send(t *testing.T, srv *httptest.Server, method, path string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func rdbOf(t *testing.T, b bundle) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: b.redisOpt.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func putResult(t *testing.T, st storage.Store, bucket, key, source, body string) {
	t.Helper()
	meta := layout.ResultMeta(layout.Owner(source), `"etag"`, "failed", "invalid_image", "")
	if _, err := st.Bucket(bucket).Put(context.Background(), key, strings.NewReader(body), int64(len(body)),
		storage.PutOptions{ContentType: "application/json", Metadata: meta}); err != nil {
		t.Fatal(err)
	}
}

// A batch with a success, a skip, two failures and one source pending: the
// list shows its counts and progress; its page shows each failure's code
// and the stored result JSON, escaped, and never another source's result.
func TestBatchPagesShowProgressAndFailures(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	rdb := rdbOf(t, b)
	tr := batch.New(rdb)
	const id = "b-2026.12_01"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tr.AddSources(ctx, id, "s3://in/ok.png", "s3://in/bad.png", "s3://in/lost.png", "s3://in/later.png"))
	must(tr.AddSkipped(ctx, id, 1))
	must(tr.AddOutput(ctx, id, "s3://in/", "s3://out/r/"))
	for _, f := range []struct{ src, status, code string }{
		{"s3://in/ok.png", batch.StatusSucceeded, ""},
		{"s3://in/bad.png", batch.StatusFailed, "invalid_image"},
		{"s3://in/lost.png", batch.StatusFailed, "source_not_found"},
	} {
		if _, err := tr.Finish(ctx, id, f.src, f.status, f.code); err != nil {
			t.Fatal(err)
		}
	}
	_, err := tr.Seal(ctx, id)
	must(err)

	st := memory.New()
	putResult(t, st, "out", "r/bad.png.json", "s3://in/bad.png",
		`{"schema":"ocr-result/v1","status":"failed","error":{"code":"invalid_image","message":"<script>alert(1)</script>"}}`)
	// Under lost.png's key lies a result of another source: not shown.
	putResult(t, st, "out", "r/lost.png.json", "s3://elsewhere/lost.png", `{"schema":"ocr-result/v1","marker":"NOT-THIS-ONE"}`)

	srv := serve(t, Options{RedisOpt: b.redisOpt, Batches: BatchOptions{Store: st}})

	resp, body := send(t, srv, "GET", "/batches", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /batches = %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`href="/batches/` + id + `"`,
		`<td class="total">5</td>`, `<td class="succeeded">1</td>`, `<td class="failed">2</td>`,
		`<td class="skipped">1</td>`, `<td class="pending">1</td>`,
		"4/5 (80.0%)", `aria-valuenow="80.0"`, `<td class="state">running</td>`, "docs/s",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/batches lacks %q", want)
		}
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}

	resp, body = send(t, srv, "GET", "/batches/"+id, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /batches/%s = %d\n%s", id, resp.StatusCode, body)
	}
	for _, want := range []string{
		"Failures (2)", `<code class="code">invalid_image</code>`, `<code class="code">source_not_found</code>`,
		"s3://in/bad.png", `&#34;code&#34;: &#34;invalid_image&#34;`, "&lt;script&gt;alert(1)&lt;/script&gt;",
		"no result object found", "s3://out/r/",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("batch page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("the batch page carries an unescaped <script> from a result")
	}
	if strings.Contains(body, "NOT-THIS-ONE") {
		t.Error("the batch page shows another source's result")
	}

	// Bad ids are refused before Redis, and echoed escaped.
	for _, path := range []string{"/batches/a:b", "/batches/%3Cscript%3Ex", "/batches/-x"} {
		resp, body := send(t, srv, "GET", path, nil)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<script>") {
			t.Errorf("GET %s = %d (want 400), escaped: %v", path, resp.StatusCode, !strings.Contains(body, "<script>"))
		}
	}
	if resp, _ := send(t, srv, "GET", "/batches/", nil); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/batches" {
		t.Errorf("GET /batches/ = %d to %q, want a redirect to /batches", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := send(t, srv, "GET", "/batches/no-such-batch", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown batch = %d, want 404", resp.StatusCode)
	}

	// Without storage the failures still show, with a note instead of JSON.
	bare := serve(t, Options{RedisOpt: b.redisOpt})
	_, body = send(t, bare, "GET", "/batches/"+id, nil)
	if !strings.Contains(body, "invalid_image") || !strings.Contains(body, "--config") || strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("batch page without storage:\n%s", body)
	}
}

// Failures beyond a page are reached with ?from=; the page stays bounded.
func TestBatchPageFailurePages(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	tr := batch.New(rdbOf(t, b))
	const id = "many"
	n := failuresPerPage + 3
	src := func(i int) string { return "s3://in/" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ".png" }
	for i := range n {
		if err := tr.AddSources(ctx, id, src(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		src := src(i)
		if _, err := tr.Finish(ctx, id, src, batch.StatusFailed, "invalid_image"); err != nil {
			t.Fatal(err)
		}
	}
	srv := serve(t, Options{RedisOpt: b.redisOpt})
	_, first := send(t, srv, "GET", "/batches/"+id, nil)
	_, second := send(t, srv, "GET", "/batches/"+id+"?from=50", nil)
	if c := strings.Count(first, `class="failure"`); c != failuresPerPage {
		t.Errorf("first page shows %d failures, want %d", c, failuresPerPage)
	}
	if c := strings.Count(second, `class="failure"`); c != 3 || !strings.Contains(second, "s3://in/ca.png") {
		t.Errorf("second page shows %d failures, want the last 3", c)
	}
	if !strings.Contains(first, `?from=50#failures`) || !strings.Contains(second, `?from=0#failures`) {
		t.Error("pager links missing")
	}
	if resp, _ := send(t, srv, "GET", "/batches/"+id+"?from=-1", nil); resp.StatusCode != 400 {
		t.Errorf("from=-1 = %d, want 400", resp.StatusCode)
	}
}

// The vendor panel shows a halt and why; resume is a same-origin POST,
// refused (and its button hidden) on a read-only dashboard.
func TestVendorPanelAndResume(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	rdb := rdbOf(t, b)
	gate := ratelimit.NewGate(rdb)
	if err := gate.Halt(ctx, "clova", "quota_exhausted", time.Time{}); err != nil {
		t.Fatal(err)
	}
	halted := func() bool {
		_, h, err := gate.Halted(ctx, "clova")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	vendors := BatchOptions{Vendors: []VendorLimit{{Name: "nhn", RPS: 5, Burst: 5}, {Name: "clova", RPS: 10, Burst: 10}}}
	ro := serve(t, Options{RedisOpt: b.redisOpt, ReadOnly: true, Batches: vendors})
	rw := serve(t, Options{RedisOpt: b.redisOpt, Batches: vendors})
	const action = `action="/batches/vendors/clova/resume"`

	_, body := send(t, rw, "GET", "/batches", nil)
	for _, want := range []string{`data-vendor="clova"`, `<strong class="halted">halted</strong>`, `<code class="reason">quota_exhausted</code>`,
		"until resumed", "10 rps, burst 10", "not recorded yet", "not tracked yet", action, `data-vendor="nhn"`} {
		if !strings.Contains(body, want) {
			t.Errorf("vendor panel lacks %q", want)
		}
	}
	if strings.Contains(body, `action="/batches/vendors/nhn/resume"`) {
		t.Error("a resume button for a vendor that is not halted")
	}

	_, body = send(t, ro, "GET", "/batches", nil)
	if strings.Contains(body, action) || !strings.Contains(body, "quota_exhausted") || !strings.Contains(body, "read-only") {
		t.Error("read-only panel: want the halt shown, no resume button")
	}
	if resp, _ := send(t, ro, "POST", "/batches/vendors/clova/resume", nil); resp.StatusCode != http.StatusMethodNotAllowed || !halted() {
		t.Errorf("read-only resume = %d, halted %v; want 405 and still halted", resp.StatusCode, halted())
	}
	if resp, _ := send(t, rw, "POST", "/batches/vendors/clova/resume", map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden || !halted() {
		t.Errorf("cross-site resume = %d, halted %v; want 403 and still halted", resp.StatusCode, halted())
	}
	if resp, _ := send(t, rw, "POST", "/batches/vendors/unknown/resume", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("resume of an unconfigured vendor = %d, want 404", resp.StatusCode)
	}
	resp, _ := send(t, rw, "POST", "/batches/vendors/clova/resume", map[string]string{"Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusSeeOther || halted() {
		t.Fatalf("resume = %d, halted %v; want 303 and resumed", resp.StatusCode, halted())
	}
	_, body = send(t, rw, "GET", resp.Header.Get("Location"), nil)
	if !strings.Contains(body, "Resumed clova; 0 waiting tasks run now.") || strings.Contains(body, action) {
		t.Errorf("after resume: no notice, or still a resume button")
	}
}

func TestBatchPagesNeedLogin(t *testing.T) {
	b := setup(t)
	srv := serve(t, Options{RedisOpt: b.redisOpt, Username: "ops", Password: "pw", Batches: BatchOptions{Vendors: []VendorLimit{{Name: "clova", RPS: 1, Burst: 1}}}})
	for _, c := range []struct{ method, path string }{{"GET", "/batches"}, {"GET", "/batches/x"}, {"POST", "/batches/vendors/clova/resume"}} {
		if resp, _ := send(t, srv, c.method, c.path, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without login = %d, want 401", c.method, c.path, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/batches", bytes.NewReader(nil))
	req.SetBasicAuth("ops", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /batches with login = %d", resp.StatusCode)
	}
}
