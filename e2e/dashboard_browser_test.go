package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestDashboardBatchPageInBrowser loads the batch pages of the dashboard
// binary in headless Chromium, against a running stack with a batch of five
// sources (three read, one skipped as already done, one that is no image),
// and checks what an operator sees: the batch row with its counts and
// progress, the failure's code and its stored result JSON on the batch
// page, the halted vendor with its reason, the resume button that lifts the
// halt, and no such button on a read-only dashboard.
//
// Chromium is the Debian package (`make deps` installs it); CHROMIUM_BIN
// names another binary. Set OCR_SCREENSHOTS=DIR to keep screenshots.
func TestDashboardBatchPageInBrowser(t *testing.T) {
	browser := findChromium(t)
	s := newStack(t, stack.Options{})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	for i, k := range []string{"a.png", "b.png", "c.png", "warm.png"} {
		put(t, in, "docs/"+k, testimages.PNG(int64(70+i), 32, 24, nil))
	}
	put(t, in, "docs/text.png", []byte("this is not an image at all, just text\n"))
	if _, err := s.StartWorker("--concurrency", "2"); err != nil {
		t.Fatal(err)
	}

	// warm.png is done before the batch, so the batch skips it.
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "--batch", "warm", "s3://inbox/docs/warm.png")
	waitResults(t, out, "r/", 1, time.Minute)
	const id = "browser-1"
	enq := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/r/", "--batch", id, "s3://inbox/docs/")
	if n, skip, _ := enqueuedLine(t, enq); n != 4 || skip != 1 {
		t.Fatalf("enqueued %d skipped %d, want 4 and 1", n, skip)
	}
	waitBatchDone(t, s, id, 2*time.Minute)
	producer(t, s, 0, "halt", "clova", "--for", "1h")

	user, pass := "ops", "pw-"+randomWord()
	t.Setenv("DASHBOARD_USERNAME", user)
	t.Setenv("DASHBOARD_PASSWORD", pass)
	rw := startDashboard(t, s)
	ro := startDashboard(t, s, "--read-only")

	b := newBrowser(t, browser, user, pass)

	// The list: the batch row, its counts, a full bar with a failed part.
	row := `tr[data-batch="` + id + `"]`
	b.do(chromedp.Navigate(rw+"/batches"), chromedp.WaitVisible(chromedp.CSS(row)))
	b.shot("batches")
	cells := textsByClass(b, row+` td[class]`)
	want := map[string]string{"total": "5", "succeeded": "3", "failed": "1", "skipped": "1", "pending": "0", "eta": "—"}
	for k, v := range want {
		if cells[k] != v {
			t.Errorf("batch row %s = %q, want %q (row %v)", k, cells[k], v, cells)
		}
	}
	if !strings.HasPrefix(cells["state"], "done in") || !strings.HasSuffix(cells["rate"], "docs/s") {
		t.Errorf("batch row state %q, rate %q", cells["state"], cells["rate"])
	}
	pct := b.text(row + ` .pct`)
	parts := b.count(row + ` svg.bar rect.failed`)
	if pct != "5/5 (100.0%)" || parts != 1 {
		t.Errorf("progress %q with %d failed parts, want 5/5 (100.0%%) and 1", pct, parts)
	}

	// The vendor panel: clova halted by the operator, with a resume button.
	clova := b.text(`tr[data-vendor="clova"] td.state`)
	if n := b.count(`tr[data-vendor="clova"] button.resume`); !strings.Contains(clova, "halted") || !strings.Contains(clova, "operator") || n != 1 {
		t.Errorf("clova state %q with %d resume buttons, want halted by operator and 1", clova, n)
	}

	// The batch page, reached by its link: the failure, its code and its
	// result JSON as stored.
	b.do(chromedp.Click(chromedp.CSS(`a[href="/batches/`+id+`"]`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(`#batch-id`)))
	b.shot("batch")
	code, source, shown := b.text(`section.failure code.code`), b.text(`section.failure .source`), b.text(`section.failure pre.result-json`)
	if code != "invalid_image" || source != "s3://inbox/docs/text.png" {
		t.Errorf("failure shows code %q source %q", code, source)
	}
	if n := b.count(`section.failure`); n != 1 {
		t.Errorf("%d failures on the batch page, want 1", n)
	}
	if got := b.text(`#failed`); got != "1" {
		t.Errorf("batch page: failed %q, want 1", got)
	}
	rc, _, err := out.Get(t.Context(), "r/docs/text.png.json")
	must(t, err)
	stored, err := io.ReadAll(rc)
	rc.Close()
	must(t, err)
	var got, wantJSON map[string]any
	if err := json.Unmarshal([]byte(shown), &got); err != nil {
		t.Fatalf("result JSON on the page does not parse: %v\n%s", err, shown)
	}
	must(t, json.Unmarshal(stored, &wantJSON))
	if !reflect.DeepEqual(got, wantJSON) {
		t.Errorf("page shows\n%s\nstored\n%s", shown, stored)
	}

	// Read-only: the halt shows, no resume button.
	b.do(chromedp.Navigate(ro+"/batches"), chromedp.WaitVisible(chromedp.CSS(`tr[data-vendor="clova"]`)))
	b.shot("read-only")
	roState := b.text(`tr[data-vendor="clova"] td.state`)
	if n := b.count(`button.resume, form[action*="resume"]`); !strings.Contains(roState, "halted") || n != 0 {
		t.Errorf("read-only: clova %q with %d resume buttons, want halted and none", roState, n)
	}

	// Resume through the button: the halt is gone in Redis and on the page.
	b.do(chromedp.Navigate(rw+"/batches"),
		chromedp.Click(chromedp.CSS(`tr[data-vendor="clova"] button.resume`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	b.shot("resumed")
	notice, after := b.text(`p.notice`), b.text(`tr[data-vendor="clova"] td.state`)
	if !strings.HasPrefix(notice, "Resumed clova;") || after != "calling" {
		t.Errorf("after resume: notice %q, clova %q", notice, after)
	}
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr})
	defer rdb.Close()
	if _, halted, err := ratelimit.NewGate(rdb).Halted(t.Context(), "clova"); err != nil || halted {
		t.Errorf("clova still halted after the resume button: %v", err)
	}

	logs, _ := s.Logs()
	if strings.Contains(logs, "docs/text.png") || strings.Contains(logs, pass) {
		t.Error("a log line names the failed source's key or the dashboard password")
	}
}

// findChromium returns the browser binary, or skips the test when none is
// installed (`make deps` installs the Debian package; CI has it).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (chromium, chromium-browser, google-chrome; or set CHROMIUM_BIN): run `make deps` to install the Debian package")
	return ""
}

// browser is one headless Chromium tab that logs in with basic auth on
// every request it makes (form posts included).
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, bin, user, pass string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() }) // ends the browser process
	// Start the browser with no deadline (the first Run binds its life to
	// its context), then bound every step.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	t.Cleanup(cancel)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// text is the visible text of the first element matching a CSS selector.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// count is how many elements match a CSS selector.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// shot saves a full-page screenshot under $OCR_SCREENSHOTS, if set.
func (b *browser) shot(name string) {
	dir := os.Getenv("OCR_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// textsByClass reads the text of every element matching sel, keyed by its
// first class.
func textsByClass(b *browser, sel string) map[string]string {
	b.t.Helper()
	m, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll(`+jsString(sel)+`)].map(e => [e.classList[0], e.innerText.trim()]))`))
	if err != nil {
		b.t.Fatalf("texts of %s: %v", sel, err)
	}
	return m
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitBatchDone polls `producer status` until the batch is done.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func randomWord() string { return time.Now().Format("150405.000000000") }
