package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// pageMetrics records the pages counted.
type pageMetrics struct {
	noMetrics
	mu    sync.Mutex
	pages map[string]int
}

func (m *pageMetrics) Pages(docType string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pages == nil {
		m.pages = map[string]int{}
	}
	m.pages[docType] += n
}

var _ Metrics = (*pageMetrics)(nil)

func pdfTask(key string) layout.Recognize {
	return layout.Recognize{Source: "s3://in/" + key, Type: result.TypeReceipt, Out: "s3://out/r/"}
}

// pagesOf checks what the vendor was sent: each call one single-page
// image of a format it takes.
func (f *fixture) checkSentSinglePages(t *testing.T, wantFormat string) {
	t.Helper()
	for i, b := range f.vendor.read {
		format, ok := imageformat.Detect(b)
		if !ok || format != wantFormat {
			t.Errorf("call %d: sent %q, want %s", i, format, wantFormat)
			continue
		}
		n, err := imageformat.PageCount(bytes.NewReader(b), int64(len(b)), format)
		if err != nil || n != 1 {
			t.Errorf("call %d: sent a %s of %d pages (%v)", i, format, n, err)
		}
	}
}

func (f *fixture) progressKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	err := f.store.Bucket("out").List(t.Context(), "r/"+layout.Area+"progress/", "", func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// A 3-page PDF written by pdfcpu (a scanned stack) is read page by page,
// one call each; the result holds every page and page 1 as its fields.
func TestMultiPagePDFReadsEachPage(t *testing.T) {
	f := newFixture(t)
	m := &pageMetrics{}
	f.h.Metrics = m
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	if err := f.run(t, pdfTask("stack.pdf"), 0, 3); err != nil {
		t.Fatal(err)
	}
	if f.vendor.calls != 3 {
		t.Fatalf("vendor called %d times, want 3", f.vendor.calls)
	}
	f.checkSentSinglePages(t, "pdf")
	r, _ := f.result(t, "r/stack.pdf.json")
	if r.Status != result.StatusSucceeded || r.PageCount != 3 || len(r.Pages) != 3 || r.Source.SHA256 == "" || r.Source.Format != "pdf" {
		t.Fatalf("result %+v", r)
	}
	for i, p := range r.Pages {
		if p.Page != i+1 || p.Status != result.StatusSucceeded || p.Error != nil || p.Fields == nil {
			t.Errorf("page %d: %+v", i+1, p)
		}
	}
	// fields is page 1's: the scripted vendor answers the byte count sent.
	first := fmtJSON(t, r.Pages[0].Fields)
	if fmtJSON(t, r.Fields) != first || first == fmtJSON(t, r.Pages[1].Fields) {
		t.Errorf("fields %s, page 1 %s, page 2 %s", fmtJSON(t, r.Fields), first, fmtJSON(t, r.Pages[1].Fields))
	}
	if m.pages[result.TypeReceipt] != 3 {
		t.Errorf("pages counted %v, want 3", m.pages)
	}
	if keys := f.progressKeys(t); len(keys) != 0 {
		t.Errorf("saved page answers left after the result: %v", keys)
	}
	// Read again (a duplicate): current result, no call.
	if err := f.run(t, pdfTask("stack.pdf"), 0, 3); err != nil || f.vendor.calls != 3 {
		t.Errorf("re-run: %v, %d calls", err, f.vendor.calls)
	}
}

func fmtJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pages: first reads page 1 only and records how many there are.
func TestPagesFirstReadsOnlyPageOne(t *testing.T) {
	f := newFixture(t)
	f.h.Config.Types = map[string]*config.Type{result.TypeReceipt: {Pages: config.PagesFirst}}
	f.put(t, "in", "license.pdf", testimages.ScannedPDF(3, 2, 100, 140))
	if err := f.run(t, pdfTask("license.pdf"), 0, 3); err != nil {
		t.Fatal(err)
	}
	r, _ := f.result(t, "r/license.pdf.json")
	if f.vendor.calls != 1 || r.Status != result.StatusSucceeded || r.Pages != nil || r.PageCount != 2 || r.Fields == nil {
		t.Errorf("calls %d, result %+v", f.vendor.calls, r)
	}
	f.checkSentSinglePages(t, "pdf")
}

// A source over maxPages fails before any call.
func TestTooManyPagesFailsBeforeAnyCall(t *testing.T) {
	f := newFixture(t)
	f.h.Config.Types = map[string]*config.Type{result.TypeReceipt: {MaxPages: 2}}
	f.put(t, "in", "three.pdf", testimages.ScannedPDF(1, 3, 80, 80))
	f.put(t, "in", "three.tiff", testimages.TIFF(1, 3))
	for _, key := range []string{"three.pdf", "three.tiff"} {
		if err := f.run(t, pdfTask(key), 0, 3); err != nil {
			t.Fatal(err)
		}
		r, _ := f.result(t, "r/"+key+".json")
		if r.Error == nil || r.Error.Code != "too_many_pages" || !strings.Contains(r.Error.Message, "3 pages") {
			t.Errorf("%s: %+v", key, r.Error)
		}
	}
	if f.vendor.calls != 0 {
		t.Errorf("%d vendor calls", f.vendor.calls)
	}
}

// One page failing fails the source as page_failed; the pages say which,
// and the other pages keep their fields.
func TestOnePageFailingIsPageFailed(t *testing.T) {
	f := newFixture(t, nil, ocrerr.Permanent(ocrerr.RecognitionFailed, "page unreadable"), nil)
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	if err := f.run(t, pdfTask("stack.pdf"), 0, 3); err != nil {
		t.Fatal(err)
	}
	r, info := f.result(t, "r/stack.pdf.json")
	if r.Status != result.StatusFailed || r.Error == nil || r.Error.Code != "page_failed" || r.Fields != nil || len(r.Pages) != 3 ||
		!strings.Contains(r.Error.Message, "page 2") || info.Metadata[layout.MetaCode] != "page_failed" {
		t.Fatalf("result %+v error %+v", r, r.Error)
	}
	if p := r.Pages[1]; p.Status != result.StatusFailed || p.Error == nil || p.Error.Code != "recognition_failed" || p.Fields != nil {
		t.Errorf("page 2: %+v", p)
	}
	for _, i := range []int{0, 2} {
		if p := r.Pages[i]; p.Status != result.StatusSucceeded || p.Fields == nil || p.Error != nil {
			t.Errorf("page %d: %+v", i+1, p)
		}
	}
	if f.vendor.calls != 3 {
		t.Errorf("%d calls, want 3 (a failed page does not stop the others)", f.vendor.calls)
	}
}

// A retry pays only for the pages without a saved answer: page 1 answered,
// page 2 failed transiently; the retry calls for pages 2 and 3 only.
func TestRetryReusesSavedPages(t *testing.T) {
	unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503").WithVendor("0500", 503)
	f := newFixture(t, nil, unavailable)
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	err := f.run(t, pdfTask("stack.pdf"), 0, 3)
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.VendorUnavailable {
		t.Fatalf("first run: %v, want the transient failure (a retry)", err)
	}
	if f.exists(t, "out", "r/stack.pdf.json") || len(f.progressKeys(t)) != 1 {
		t.Fatalf("after the first run: result %v, saved %v", f.exists(t, "out", "r/stack.pdf.json"), f.progressKeys(t))
	}
	page1 := f.vendor.read[0]
	if err := f.run(t, pdfTask("stack.pdf"), 1, 3); err != nil {
		t.Fatal(err)
	}
	if f.vendor.calls != 4 {
		t.Errorf("%d vendor calls in all, want 4 (1 + failed 2, then 2 and 3)", f.vendor.calls)
	}
	for i, b := range f.vendor.read[1:] {
		if bytes.Equal(b, page1) {
			t.Errorf("call %d re-sent page 1", i+2)
		}
	}
	r, _ := f.result(t, "r/stack.pdf.json")
	if r.Status != result.StatusSucceeded || len(r.Pages) != 3 || r.Attempts != 2 {
		t.Fatalf("result %+v", r)
	}
	// Page 1's fields came from the saved answer: the vendor's answer to
	// page 1's bytes (the scripted total is the byte count).
	if got := fmtJSON(t, r.Pages[0].Fields); !strings.Contains(got, `"value":`+itoa(len(page1))) {
		t.Errorf("page 1 fields %s, want the saved answer for %d bytes", got, len(page1))
	}
	if keys := f.progressKeys(t); len(keys) != 0 {
		t.Errorf("saved answers left: %v", keys)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// Saved answers count only for the source version they were made from.
func TestSavedPagesOfAnotherVersionAreIgnored(t *testing.T) {
	unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503")
	f := newFixture(t, nil, unavailable)
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	if err := f.run(t, pdfTask("stack.pdf"), 0, 3); err == nil {
		t.Fatal("want a retry")
	}
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(8, 3, 120, 160)) // replaced meanwhile
	if err := f.run(t, pdfTask("stack.pdf"), 1, 3); err != nil {
		t.Fatal(err)
	}
	if f.vendor.calls != 5 {
		t.Errorf("%d calls, want 2 + 3: the new version is read whole", f.vendor.calls)
	}
}

// On the last try a page still failing transiently is that page's final
// failure (retries_exhausted); the source is page_failed.
func TestLastTryTransientPageIsPageFailed(t *testing.T) {
	unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503")
	f := newFixture(t, nil, nil, unavailable)
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	if err := f.run(t, pdfTask("stack.pdf"), 3, 3); err != nil {
		t.Fatal(err)
	}
	r, _ := f.result(t, "r/stack.pdf.json")
	if r.Error == nil || r.Error.Code != "page_failed" || r.Pages[2].Error == nil || r.Pages[2].Error.Code != "retries_exhausted" {
		t.Errorf("error %+v pages %+v", r.Error, r.Pages)
	}
}

// A halt or throttle-out while reading pages hands the task back: nothing
// is written, the answered pages are kept.
func TestHaltDuringPagesKeepsProgress(t *testing.T) {
	quota := &ocrerr.Error{Code: ocrerr.QuotaExhausted, Message: "quota reached", Halt: true}
	f := newFixture(t, nil, quota)
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	err := f.run(t, pdfTask("stack.pdf"), 0, 3)
	if err == nil || IsFailure(err) {
		t.Fatalf("got %v, want a requeue", err)
	}
	if f.exists(t, "out", "r/stack.pdf.json") || len(f.progressKeys(t)) != 1 {
		t.Errorf("result written %v, saved %v", f.exists(t, "out", "r/stack.pdf.json"), f.progressKeys(t))
	}
}

// A 3-page TIFF is split; the vendor, which takes no TIFF, gets each page
// as a PNG.
func TestMultiPageTIFFPagesAreConverted(t *testing.T) {
	f := newFixture(t)
	f.put(t, "in", "fax.tiff", testimages.TIFF(4, 3))
	if err := f.run(t, pdfTask("fax.tiff"), 0, 3); err != nil {
		t.Fatal(err)
	}
	r, _ := f.result(t, "r/fax.tiff.json")
	if r.Status != result.StatusSucceeded || len(r.Pages) != 3 || f.vendor.calls != 3 || r.Source.Format != "tiff" {
		t.Fatalf("calls %d result %+v error %+v", f.vendor.calls, r, r.Error)
	}
	f.checkSentSinglePages(t, "png")
}

// Formats the vendor does not take are converted; a sideways phone photo
// is turned upright; a plain JPEG or PNG is sent byte for byte.
func TestFormatsAreConvertedForTheVendor(t *testing.T) {
	for _, tc := range []struct {
		key        string
		data       []byte
		send       string
		w, h       int
		sentAsIs   bool
		sourceType string
	}{
		{"a.webp", testimages.WebP(1, 90, 60), "png", 90, 60, false, "webp"},
		{"a.bmp", testimages.BMP(1, 90, 60), "png", 90, 60, false, "bmp"},
		{"a.gif", testimages.GIF(1, 90, 60, 2), "png", 90, 60, false, "gif"},
		{"sideways.jpg", testimages.RotatedJPEG(1, 90, 60, 6), "jpg", 90, 60, false, "jpg"},
		{"plain.jpg", testimages.JPEG(1, 90, 60, nil), "jpg", 90, 60, true, "jpg"},
	} {
		f := newFixture(t)
		f.put(t, "in", tc.key, tc.data)
		if err := f.run(t, pdfTask(tc.key), 0, 3); err != nil {
			t.Fatal(err)
		}
		r, _ := f.result(t, "r/"+tc.key+".json")
		if r.Status != result.StatusSucceeded || f.vendor.calls != 1 || r.Source.Format != tc.sourceType || r.Source.SHA256 == "" || r.Pages != nil {
			t.Errorf("%s: calls %d result %+v error %+v", tc.key, f.vendor.calls, r, r.Error)
			continue
		}
		sent := f.vendor.read[0]
		cfg, format, err := image.DecodeConfig(bytes.NewReader(sent))
		if err != nil || strings.Replace(format, "jpeg", "jpg", 1) != tc.send || cfg.Width != tc.w || cfg.Height != tc.h {
			t.Errorf("%s: sent %s %dx%d (%v), want %s %dx%d", tc.key, format, cfg.Width, cfg.Height, err, tc.send, tc.w, tc.h)
		}
		if bytes.Equal(sent, tc.data) != tc.sentAsIs {
			t.Errorf("%s: sent as is %v, want %v", tc.key, !tc.sentAsIs, tc.sentAsIs)
		}
	}
}

// maxImageBytes applies to each page sent, not to the whole source.
func TestMaxImageBytesAppliesToEachPage(t *testing.T) {
	f := newFixture(t)
	pdf := testimages.ScannedPDF(2, 3, 200, 200)
	page := int64(len(pdf)) / 2 // each page alone is well under half the file
	f.h.Vendors["v"].MaxImageBytes = page
	f.put(t, "in", "stack.pdf", pdf)
	if err := f.run(t, pdfTask("stack.pdf"), 0, 3); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "r/stack.pdf.json"); r.Status != result.StatusSucceeded || f.vendor.calls != 3 {
		t.Errorf("a source over maxImageBytes whose pages are under it: %+v %+v", r.Status, r.Error)
	}
	f.h.Vendors["v"].MaxImageBytes = 64
	f.put(t, "in", "stack2.pdf", pdf)
	if err := f.run(t, pdfTask("stack2.pdf"), 0, 3); err != nil {
		t.Fatal(err)
	}
	r, _ := f.result(t, "r/stack2.pdf.json")
	if r.Error == nil || r.Error.Code != "page_failed" || r.Pages[0].Error == nil || r.Pages[0].Error.Code != "too_large" || f.vendor.calls != 3 {
		t.Errorf("pages over maxImageBytes: %+v pages %+v calls %d", r.Error, r.Pages, f.vendor.calls)
	}
}

// Masked mode scrubs every page's free text, in the result and in each
// page's raw copy.
func TestMaskedModeScrubsEveryPage(t *testing.T) {
	const resident = "800101-1234567"
	f := newFixture(t)
	f.h.Vendors["v"].KeepRaw = true
	f.vendor.answer = func() *vendors.Response {
		return &vendors.Response{Endpoint: "document/receipt", Fields: &result.Receipt{
			Store: &result.ReceiptStore{Address: []result.Field{{Text: "주민 " + resident, Value: "주민 " + resident}}}},
			Raw: json.RawMessage(`{"addr":"주민 ` + resident + `"}`)}
	}
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 2, 100, 100))
	if err := f.run(t, pdfTask("stack.pdf"), 0, 3); err != nil {
		t.Fatal(err)
	}
	keys := []string{"r/stack.pdf.json", layout.PageRawKey("r/", "stack.pdf", 1), layout.PageRawKey("r/", "stack.pdf", 2)}
	for _, key := range keys {
		rc, _, err := f.store.Bucket("out").Get(t.Context(), key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(b, []byte(resident)) || !bytes.Contains(b, []byte("800101-1******")) {
			t.Errorf("%s not masked:\n%s", key, b)
		}
	}
}

// A face-compare pair stays one page each: a multi-page card image is
// multi_page; a WebP face photo is converted.
func TestFaceComparePagesAndFormats(t *testing.T) {
	f := newFixture(t)
	f.put(t, "in", "card.pdf", testimages.ScannedPDF(1, 2, 80, 80))
	job := f.h.newJob(doc(t, layout.Recognize{Source: "s3://in/card.pdf", Face: "s3://in/docs/a.png", Type: result.TypeFaceCompare, Out: "s3://out/r/"}), f.h.Log, 0, 3)
	job.vendor = f.h.Vendors["v"]
	info, _ := f.store.Bucket("in").Head(t.Context(), "card.pdf")
	src, err := f.h.fetch(t.Context(), job, f.store.Bucket("in"), info, "card image", fetchOptions{single: true})
	defer src.close()
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.MultiPage {
		t.Errorf("two-page card image: %v, want multi_page", err)
	}
}

// A cancelled run (shutdown) returns its context error and writes nothing.
func TestCancelledPagesWriteNothing(t *testing.T) {
	f := newFixture(t)
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	ctx, cancel := context.WithCancel(t.Context())
	f.vendor.answer = func() *vendors.Response {
		cancel()
		return &vendors.Response{Endpoint: "document/receipt", Fields: &result.Receipt{}}
	}
	err := f.h.run(ctx, f.h.newJob(doc(t, pdfTask("stack.pdf")), f.h.Log, 0, 3))
	if err == nil || f.exists(t, "out", "r/stack.pdf.json") {
		t.Errorf("cancelled: %v, result written %v", err, f.exists(t, "out", "r/stack.pdf.json"))
	}
}

// spendingBatches records Spent and when it came relative to Finish.
type spendingBatches struct {
	fakeBatches
	pages, calls  int64
	spentAfterEnd bool
	finished      bool
}

func (b *spendingBatches) Spent(_ context.Context, _, _ string, pages, calls int64) error {
	b.pages += pages
	b.calls += calls
	b.spentAfterEnd = b.spentAfterEnd || b.finished
	return nil
}

func (b *spendingBatches) Finish(ctx context.Context, id, source, status, code string) (bool, error) {
	b.finished = true
	return b.fakeBatches.Finish(ctx, id, source, status, code)
}

// The batch counts the pages read and every vendor call, retries
// included, before the source's outcome (which may write the summary).
func TestBatchCountsPagesAndCalls(t *testing.T) {
	unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503")
	f := newFixture(t, nil, unavailable)
	bs := &spendingBatches{}
	f.h.Batches = bs
	f.put(t, "in", "stack.pdf", testimages.ScannedPDF(7, 3, 120, 160))
	task := pdfTask("stack.pdf")
	task.Batch = "b1"
	if err := f.run(t, task, 0, 3); err == nil {
		t.Fatal("want a retry")
	}
	if bs.pages != 1 || bs.calls != 2 || bs.finished {
		t.Errorf("after the failed run: pages %d calls %d finished %v, want 1, 2, false", bs.pages, bs.calls, bs.finished)
	}
	if err := f.run(t, task, 1, 3); err != nil {
		t.Fatal(err)
	}
	if bs.pages != 3 || bs.calls != 4 || bs.spentAfterEnd || bs.codes[task.Source] != "" {
		t.Errorf("pages %d calls %d (want 3 and 4), counted after the outcome %v", bs.pages, bs.calls, bs.spentAfterEnd)
	}
}
