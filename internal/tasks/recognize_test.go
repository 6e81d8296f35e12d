package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
	"github.com/ocrbatch/ocrworker/internal/testimages"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/clovaocr"
)

// scriptedVendor answers each call with the next scripted error (nil:
// success) and records what it was sent.
type scriptedVendor struct {
	mu     sync.Mutex
	script []error
	calls  int
	read   [][]byte
	pii    []bool
	answer func() *vendors.Response // nil: a receipt with only its total
	raw    []byte                   // the raw answer to return (keepRaw)
}

func (v *scriptedVendor) Kind() string           { return "scripted" }
func (v *scriptedVendor) Supports(t string) bool { return t == result.TypeReceipt }
func (v *scriptedVendor) Formats() []string      { return []string{"jpg", "png", "pdf"} }
func (v *scriptedVendor) Recognize(ctx context.Context, req *vendors.Request) (*vendors.Response, error) {
	rc, err := req.Image.Open(ctx)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	v.read = append(v.read, b)
	v.pii = append(v.pii, req.PII)
	if len(v.script) > 0 {
		next := v.script[0]
		v.script = v.script[1:]
		if next != nil {
			return nil, next
		}
	}
	if v.answer != nil {
		return v.answer(), nil
	}
	total := &result.Field{Value: int64(len(b)), Text: "total"}
	return &vendors.Response{Endpoint: "document/receipt", RequestID: "req-1", Fields: &result.Receipt{TotalPrice: total}, Raw: v.raw}, nil
}

// recordingGate admits every call and records throttles and halts.
type recordingGate struct {
	mu        sync.Mutex
	throttled int
	halted    []string
}

func (g *recordingGate) Acquire(context.Context) (func(error), time.Duration, error) {
	return func(error) {}, 0, nil
}
func (g *recordingGate) Throttled(context.Context, time.Duration) {
	g.mu.Lock()
	g.throttled++
	g.mu.Unlock()
}
func (g *recordingGate) Halted(context.Context) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Time{}, len(g.halted) > 0
}
func (g *recordingGate) Halt(_ context.Context, code string, _ time.Time) error {
	g.mu.Lock()
	g.halted = append(g.halted, code)
	g.mu.Unlock()
	return nil
}

type fixture struct {
	h      *Handler
	store  *memory.Store
	vendor *scriptedVendor
	gate   *recordingGate
	image  []byte
}

func newFixture(t *testing.T, script ...error) *fixture {
	t.Helper()
	f := &fixture{store: memory.New(), vendor: &scriptedVendor{script: script}, gate: &recordingGate{},
		image: testimages.PNG(1, 16, 16, nil)}
	f.h = &Handler{
		Store:   f.store,
		Vendors: map[string]*Vendor{"v": {Name: "v", Client: f.vendor, Gate: f.gate, MaxImageBytes: 1 << 20, HaltFor: time.Minute}},
		Config: &config.Config{Routes: map[string]string{result.TypeReceipt: "v"},
			Vendors: map[string]*config.Vendor{"v": {Kind: clovaocr.Kind}}},
		Log: zerolog.Nop(),
	}
	f.put(t, "in", "docs/a.png", f.image)
	return f
}

func (f *fixture) put(t *testing.T, bucket, key string, b []byte) {
	t.Helper()
	if _, err := f.store.Bucket(bucket).Put(t.Context(), key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// run runs one attempt as asynq would: retried earlier failures, maxRetry budget.
func (f *fixture) run(t *testing.T, p layout.Recognize, retried, maxRetry int) error {
	t.Helper()
	return f.h.run(t.Context(), f.h.newJob(doc(t, p), zerolog.Nop(), retried, maxRetry))
}

// doc parses a valid payload (its version set) as the handler would.
func doc(t *testing.T, p layout.Recognize) layout.Doc {
	t.Helper()
	p.V = layout.PayloadVersion
	d, err := p.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *fixture) result(t *testing.T, key string) (result.Result, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := f.store.Bucket("out").Get(t.Context(), key)
	if err != nil {
		t.Fatalf("result %s: %v", key, err)
	}
	defer rc.Close()
	var r result.Result
	if err := json.NewDecoder(rc).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r, info
}

var receiptTask = layout.Recognize{Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Out: "s3://out/r/"}

func TestSuccessWritesOneResultWithItsSourceVersion(t *testing.T) {
	f := newFixture(t)
	if err := f.run(t, receiptTask, 0, 3); err != nil {
		t.Fatal(err)
	}
	r, info := f.result(t, "r/docs/a.png.json")
	src, _ := f.store.Bucket("in").Head(t.Context(), "docs/a.png")
	if r.Status != result.StatusSucceeded || r.Source.ETag != src.ETag || r.Source.Format != "png" || r.Source.SHA256 == "" {
		t.Errorf("result %+v", r)
	}
	if info.Metadata[layout.MetaSourceETag] != src.ETag || info.Metadata[layout.MetaStatus] != result.StatusSucceeded || info.ContentType != "application/json" {
		t.Errorf("result metadata %v content type %q", info.Metadata, info.ContentType)
	}
	if !bytes.Equal(f.vendor.read[0], f.image) {
		t.Error("the vendor did not receive the image bytes intact")
	}

	// A re-run (crash after the write, duplicate delivery) costs no vendor call.
	if err := f.run(t, receiptTask, 0, 3); err != nil {
		t.Fatal(err)
	}
	if f.vendor.calls != 1 {
		t.Errorf("vendor called %d times, want 1", f.vendor.calls)
	}
	// A changed source is read again and its result replaced.
	f.put(t, "in", "docs/a.png", testimages.PNG(2, 16, 16, nil))
	if err := f.run(t, receiptTask, 0, 3); err != nil {
		t.Fatal(err)
	}
	if f.vendor.calls != 2 {
		t.Errorf("changed source: vendor called %d times, want 2", f.vendor.calls)
	}
	r2, _ := f.result(t, "r/docs/a.png.json")
	if r2.Source.SHA256 == r.Source.SHA256 {
		t.Error("result not replaced after the source changed")
	}
}

func TestPermanentVendorErrorIsAFailedResult(t *testing.T) {
	f := newFixture(t, ocrerr.Permanent(ocrerr.RecognitionFailed, "document unreadable").WithVendor("", 200))
	if err := f.run(t, receiptTask, 0, 3); err != nil {
		t.Fatalf("a permanent failure must complete the task, got %v", err)
	}
	r, info := f.result(t, "r/docs/a.png.json")
	if r.Status != result.StatusFailed || r.Error == nil || r.Error.Code != "recognition_failed" || r.Fields != nil || r.Error.Retryable {
		t.Errorf("result %+v error %+v", r, r.Error)
	}
	if info.Metadata[layout.MetaCode] != "recognition_failed" {
		t.Errorf("metadata %v", info.Metadata)
	}
}

func TestTransientErrorRetriesThenExhausts(t *testing.T) {
	unavailable := ocrerr.Transient(ocrerr.VendorUnavailable, "vendor answered 503").WithVendor("0500", 503)
	f := newFixture(t, unavailable, unavailable)
	err := f.run(t, receiptTask, 0, 1)
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.VendorUnavailable || !IsFailure(err) {
		t.Fatalf("first attempt: %v, want a retryable vendor_unavailable failure", err)
	}
	if _, err := f.store.Bucket("out").Head(t.Context(), "r/docs/a.png.json"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatal("no result may be written before the last attempt")
	}
	if err := f.run(t, receiptTask, 1, 1); err != nil {
		t.Fatalf("last attempt: %v", err)
	}
	r, _ := f.result(t, "r/docs/a.png.json")
	if r.Error == nil || r.Error.Code != "retries_exhausted" || r.Error.VendorCode != "0500" || r.Attempts != 2 {
		t.Errorf("result %+v error %+v", r, r.Error)
	}
}

func TestThrottleIsRetriedInPlaceWithoutFailure(t *testing.T) {
	f := newFixture(t, ocrerr.Throttled("0025", 400, 0), ocrerr.Throttled("0025", 400, 0))
	if err := f.run(t, receiptTask, 0, 0); err != nil {
		t.Fatal(err)
	}
	if f.gate.throttled != 2 || f.vendor.calls != 3 {
		t.Errorf("throttled %d calls %d, want 2 and 3", f.gate.throttled, f.vendor.calls)
	}
	for i, b := range f.vendor.read {
		if !bytes.Equal(b, f.image) {
			t.Errorf("call %d: image not re-sent intact after a throttle", i)
		}
	}
	if r, _ := f.result(t, "r/docs/a.png.json"); r.Status != result.StatusSucceeded {
		t.Errorf("status %s", r.Status)
	}
}

func TestEndlessThrottleIsRequeuedNotFailed(t *testing.T) {
	var script []error
	for i := 0; i <= throttleRetries; i++ {
		script = append(script, ocrerr.Throttled("0025", 400, 0))
	}
	f := newFixture(t, script...)
	err := f.run(t, receiptTask, 0, 0)
	if err == nil || IsFailure(err) {
		t.Fatalf("got %v, want a requeue that is not a failure", err)
	}
	if d := RetryDelay(0, err, nil); d < time.Second {
		t.Errorf("requeue delay %v", d)
	}
}

func TestHaltStopsTheVendorAndRequeues(t *testing.T) {
	quota := &ocrerr.Error{Code: ocrerr.QuotaExhausted, Message: "quota reached", VendorCode: "0023", HTTPStatus: 400, Halt: true}
	f := newFixture(t, quota)
	err := f.run(t, receiptTask, 0, 0)
	if err == nil || IsFailure(err) {
		t.Fatalf("got %v, want a requeue that is not a failure", err)
	}
	if len(f.gate.halted) != 1 || f.gate.halted[0] != "quota_exhausted" {
		t.Errorf("halts %v", f.gate.halted)
	}
	if _, err := f.store.Bucket("out").Head(t.Context(), "r/docs/a.png.json"); !errors.Is(err, storage.ErrNotFound) {
		t.Error("a halted vendor must not produce a failed result")
	}
	// While halted, other tasks of that vendor go back to the queue before
	// any download or call, for as long as the halt lasts.
	calls := f.vendor.calls
	err = f.run(t, receiptTask, 0, 0)
	if err == nil || IsFailure(err) || f.vendor.calls != calls {
		t.Fatalf("task during a halt: %v (vendor calls %d -> %d)", err, calls, f.vendor.calls)
	}
	if d := RetryDelay(0, err, nil); d < time.Minute {
		t.Errorf("requeued for %v, want the halt's length", d)
	}
}

func TestBadInputsFailBeforeAnyVendorCall(t *testing.T) {
	f := newFixture(t)
	f.put(t, "in", "empty.png", nil)
	f.put(t, "in", "text.png", []byte("not an image at all"))
	f.put(t, "in", "broken.gif", append([]byte("GIF89a"), make([]byte, 32)...))
	f.put(t, "in", "photo.avif", append([]byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), make([]byte, 64)...))
	f.put(t, "in", "big.png", testimages.Large("png", 2<<20))
	f.put(t, "in", "locked.pdf", testimages.EncryptedPDF(2, 1, "", "owner"))
	f.put(t, "in", "cut.pdf", testimages.PDF(2, 1)[:300])
	for key, code := range map[string]string{
		"missing.png": "source_not_found", "empty.png": "empty_source", "text.png": "invalid_image",
		"broken.gif": "invalid_image", "photo.avif": "unsupported_format", "big.png": "too_large",
		"locked.pdf": "unsupported_format", "cut.pdf": "invalid_image",
	} {
		p := layout.Recognize{Source: "s3://in/" + key, Type: result.TypeReceipt, Out: "s3://out/r/"}
		if err := f.run(t, p, 0, 3); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		r, _ := f.result(t, "r/"+key+".json")
		if r.Error == nil || r.Error.Code != code {
			t.Errorf("%s: error %+v, want %s", key, r.Error, code)
		}
	}
	for _, p := range []layout.Recognize{
		{Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Vendor: "nope", Out: "s3://out/v/"},
		{Source: "s3://in/docs/a.png", Type: result.TypePassport, Out: "s3://out/t/"},
	} {
		if err := f.run(t, p, 0, 3); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := f.result(t, "v/docs/a.png.json"); r.Error == nil || r.Error.Code != "unknown_vendor" {
		t.Errorf("unknown vendor: %+v", r.Error)
	}
	if r, _ := f.result(t, "t/docs/a.png.json"); r.Error == nil || r.Error.Code != "unknown_vendor" {
		t.Errorf("unrouted type: %+v", r.Error)
	}
	if f.vendor.calls != 0 {
		t.Errorf("vendor called %d times for bad input", f.vendor.calls)
	}
}

func TestUnreadablePayloadIsArchivedOrFailed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	err := f.h.ProcessTask(ctx, asynq.NewTask(layout.TypeRecognize, []byte("{not json")))
	if !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("garbage payload: %v, want SkipRetry (archived)", err)
	}
	b, _ := json.Marshal(layout.Recognize{V: 99, Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Out: "s3://out/f/"})
	if err := f.h.ProcessTask(ctx, asynq.NewTask(layout.TypeRecognize, b)); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "f/docs/a.png.json"); r.Error == nil || r.Error.Code != "invalid_task" {
		t.Errorf("future payload version: %+v", r.Error)
	}
}

func TestTaskIDIsDeterministic(t *testing.T) {
	a := layout.Recognize{Source: "s3://in/a.png", Type: "receipt", Out: "s3://out/r/"}
	b := a
	b.Out = "s3://out/r" // the same prefix written without its slash
	c := a
	c.Type = "credit-card"
	if a.TaskID() != b.TaskID() {
		t.Error("same source, type and output must give the same ID")
	}
	if a.TaskID() == c.TaskID() {
		t.Error("another type must give another ID")
	}
	b.Batch, b.Force = "other-batch", true
	if a.TaskID() != b.TaskID() {
		t.Error("batch and force must not change the ID")
	}
}

// A run that read an older version of the source must not replace the
// result of the current version.
func TestStaleRunDoesNotClobberANewerResult(t *testing.T) {
	f := newFixture(t)
	job := f.h.newJob(doc(t, layout.Recognize{V: layout.PayloadVersion, Source: receiptTask.Source, Type: receiptTask.Type, Out: receiptTask.Out}), zerolog.Nop(), 0, 3)
	// The slow run has read version 1 ...
	v1, _ := f.store.Bucket("in").Head(t.Context(), "docs/a.png")
	job.res.Source.ETag = v1.ETag
	job.res.Status = result.StatusSucceeded
	// ... while the source changed and a fast run wrote version 2's result.
	f.put(t, "in", "docs/a.png", testimages.PNG(2, 16, 16, nil))
	if err := f.run(t, receiptTask, 0, 3); err != nil {
		t.Fatal(err)
	}
	newer, _ := f.result(t, "r/docs/a.png.json")
	if _, err := f.h.writeResult(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	after, _ := f.result(t, "r/docs/a.png.json")
	if after.Source.ETag != newer.Source.ETag || after.Source.ETag == v1.ETag {
		t.Errorf("result source etag %s, want the newer %s", after.Source.ETag, newer.Source.ETag)
	}
}

// A PDF whose page tree sits in a compressed object stream (common since
// PDF 1.5) is counted by pdfcpu and sent as it is when it has one page.
func TestObjectStreamPDFIsCountedAndSent(t *testing.T) {
	f := newFixture(t)
	pdf := testimages.PDFObjectStreams(1, 3)
	f.put(t, "in", "modern.pdf", pdf)
	if err := f.run(t, layout.Recognize{Source: "s3://in/modern.pdf", Type: result.TypeReceipt, Out: "s3://out/r/"}, 0, 3); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "r/modern.pdf.json"); r.Status != result.StatusSucceeded || f.vendor.calls != 1 || !bytes.Equal(f.vendor.read[0], pdf) || r.Pages != nil || r.PageCount != 0 {
		t.Errorf("status %s error %+v calls %d pages %v", r.Status, r.Error, f.vendor.calls, r.Pages)
	}
}

// The write trusts the HEAD the run began with; a result written by a
// concurrent run since then makes the create-only put fail, and the write
// then decides again on a fresh HEAD instead of failing or overwriting.
func TestWriteAfterAConcurrentRunKeepsTheFirstResult(t *testing.T) {
	f := newFixture(t)
	job := f.h.newJob(doc(t, layout.Recognize{V: layout.PayloadVersion, Source: receiptTask.Source, Type: receiptTask.Type, Out: receiptTask.Out}), zerolog.Nop(), 0, 3)
	src, _ := f.store.Bucket("in").Head(t.Context(), "docs/a.png")
	job.res.Source.ETag, job.res.Status = src.ETag, result.StatusFailed
	job.res.Error = &result.ErrorInfo{Code: "marker"}
	job.resultSeen, job.seenResult = true, nil          // no result when this run began
	if err := f.run(t, receiptTask, 0, 3); err != nil { // the concurrent run
		t.Fatal(err)
	}
	if _, err := f.h.writeResult(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "r/docs/a.png.json"); r.Status != result.StatusSucceeded {
		t.Errorf("status %s: the concurrent run's result was replaced", r.Status)
	}
}

// A task's request for whole personal numbers is honoured only where the
// vendor's configuration allows it (pii: per-task).
func TestTaskPIIOnlyWhereTheVendorAllowsIt(t *testing.T) {
	for _, tc := range []struct {
		vendorAll, vendorPerTask, task, want bool
	}{
		{false, false, false, false},
		{false, false, true, false}, // masked vendor: the task cannot ask
		{false, true, false, false},
		{false, true, true, true},
		{true, false, false, true}, // pii: full
	} {
		f := newFixture(t)
		v := f.h.Vendors["v"]
		v.PII, v.TaskPII = tc.vendorAll, tc.vendorPerTask
		p := receiptTask
		p.PII = tc.task
		if err := f.run(t, p, 0, 3); err != nil {
			t.Fatal(err)
		}
		if len(f.vendor.pii) != 1 || f.vendor.pii[0] != tc.want {
			t.Errorf("%+v: vendor asked for PII %v, want %v", tc, f.vendor.pii, tc.want)
		}
	}
}

// Masked mode scrubs resident and card numbers out of free text, in the
// result and in the raw copy, whichever vendor answered; pii: full keeps them.
func TestMaskedModeScrubsFreeTextInResultAndRawCopy(t *testing.T) {
	const resident, card = "800101-1234567", "5307123456789012"
	for _, pii := range []bool{false, true} {
		f := newFixture(t)
		v := f.h.Vendors["v"]
		v.PII, v.KeepRaw = pii, true
		f.vendor.answer = func() *vendors.Response {
			return &vendors.Response{Endpoint: "document/receipt", Fields: &result.Receipt{
				Store: &result.ReceiptStore{Address: []result.Field{{Text: "주민 " + resident, Value: "주민 " + resident}},
					BizNum: &result.Field{Text: "110111-1234567", Value: "110111-1234567"}},
				Items: []result.ReceiptItem{{Name: &result.Field{Text: "카드번호 " + card, Value: "카드번호 " + card},
					Code: &result.Field{Text: "8801043014809", Value: "8801043014809"}}},
			}, Raw: json.RawMessage(`{"items":[{"name":{"text":"카드번호 ` + card + `"}}],"addr":"주민 ` + resident + `"}`)}
		}
		if err := f.run(t, receiptTask, 0, 3); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"r/docs/a.png.json", layout.RawKey("r/", "docs/a.png")} {
			rc, _, err := f.store.Bucket("out").Get(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			for _, n := range []string{resident, card} {
				if got := bytes.Contains(b, []byte(n)); got != pii {
					t.Errorf("pii=%v: %s holds %s: %v\n%s", pii, key, n, got, b)
				}
			}
			if !pii && key == "r/docs/a.png.json" && (!bytes.Contains(b, []byte("주민 800101-1******")) || !bytes.Contains(b, []byte("카드번호 5307-12**-****-9012")) ||
				!bytes.Contains(b, []byte("110111-1234567")) || !bytes.Contains(b, []byte("8801043014809"))) {
				t.Errorf("masked result lost its text or its known numbers:\n%s", b)
			}
		}
	}
}
