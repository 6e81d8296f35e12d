package tasks

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
	"github.com/rs/zerolog"
)

// fakeBatches records outcomes; every Finish completes the batch.
type fakeBatches struct {
	noBooks
	mu    sync.Mutex
	codes map[string]string // source -> code ("" for success)
}

func (b *fakeBatches) Finish(_ context.Context, _, source, _, code string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.codes == nil {
		b.codes = map[string]string{}
	}
	b.codes[source] = code
	return true, nil
}

func (b *fakeBatches) WriteSummary(ctx context.Context, out storage.Bucket, outKey, id string) error {
	_, err := out.Put(ctx, layout.SummaryKey(outKey, id), strings.NewReader(`{"done":true}`), 13, storage.PutOptions{})
	return err
}

// noBooks is the producer's side of batch.Books, which the handler never uses.
type noBooks struct{}

func (noBooks) Register(context.Context, string, batch.Chunk) ([]bool, bool, error) {
	return nil, false, nil
}
func (noBooks) Unregister(context.Context, string, []string) (bool, error) { return false, nil }
func (noBooks) Spent(context.Context, string, string, int64, int64) error  { return nil }
func (noBooks) Seal(context.Context, string) (bool, error)                 { return false, nil }

func (f *fixture) exists(t *testing.T, bucket, key string) bool {
	t.Helper()
	_, err := f.store.Bucket(bucket).Head(t.Context(), key)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// The raw copy of docs/a lands where no result can be: it no longer
// overwrites the result of a source named docs/a.raw.
func TestRawCopyDoesNotOverwriteAnotherSourcesResult(t *testing.T) {
	f := newFixture(t)
	f.h.Vendors["v"].KeepRaw = true
	f.vendor.raw = []byte(`{"raw":true}`)
	f.put(t, "in", "docs/a", f.image)
	f.put(t, "in", "docs/a.raw", testimages.PNG(7, 16, 16, nil))
	for _, key := range []string{"docs/a.raw", "docs/a"} {
		if err := f.run(t, layout.Recognize{Source: "s3://in/" + key, Type: result.TypeReceipt, Out: "s3://out/r/"}, 0, 3); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := f.result(t, "r/docs/a.raw.json")
	if r.Schema != result.Schema || r.Source.URI != "s3://in/docs/a.raw" {
		t.Errorf("result of docs/a.raw was replaced: %+v", r)
	}
	if !f.exists(t, "out", "r/_ocr/raw/docs/a.json") {
		t.Error("raw copy of docs/a not under r/_ocr/raw/")
	}
}

// A batch summary goes under _ocr/batches/, not where the result of a
// source key _batches/ID would go.
func TestSummaryDoesNotCollideWithASourceNamedAfterIt(t *testing.T) {
	f := newFixture(t)
	f.h.Batches = &fakeBatches{}
	f.put(t, "in", "_batches/b1", f.image)
	if err := f.run(t, layout.Recognize{Source: "s3://in/_batches/b1", Type: result.TypeReceipt, Out: "s3://out/r/", Batch: "b1"}, 0, 3); err != nil {
		t.Fatal(err)
	}
	r, _ := f.result(t, "r/_batches/b1.json")
	if r.Schema != result.Schema {
		t.Errorf("the result of source _batches/b1 was replaced by the summary: %+v", r)
	}
	if !f.exists(t, "out", "r/_ocr/batches/b1.json") {
		t.Error("summary not at r/_ocr/batches/b1.json")
	}
}

// Two buckets, one key, one output prefix: the second source does not
// replace the first one's result; it fails as result_conflict in its batch.
func TestSecondSourceAtTheSameResultKeyConflicts(t *testing.T) {
	f := newFixture(t)
	bs := &fakeBatches{}
	f.h.Batches = bs
	f.put(t, "other", "docs/a.png", testimages.PNG(9, 16, 16, nil))
	first := layout.Recognize{Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Out: "s3://out/r/", Batch: "b"}
	second := first
	second.Source = "s3://other/docs/a.png"
	for _, p := range []layout.Recognize{first, second} {
		if err := f.run(t, p, 0, 3); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := f.result(t, "r/docs/a.png.json")
	if r.Source.URI != first.Source {
		t.Errorf("result now belongs to %s, want %s", r.Source.URI, first.Source)
	}
	if got := bs.codes[second.Source]; got != "result_conflict" {
		t.Errorf("second source recorded %q, want result_conflict", got)
	}
	if f.vendor.calls != 1 {
		t.Errorf("vendor called %d times, want 1 (the conflict is found before the call)", f.vendor.calls)
	}
}

// An object at the result key that is no result is never replaced.
func TestNonResultAtTheResultKeyIsNotReplaced(t *testing.T) {
	f := newFixture(t)
	bs := &fakeBatches{}
	f.h.Batches = bs
	f.put(t, "out", "r/docs/a.png.json", []byte(`{"mine":"a user's own file"}`))
	if err := f.run(t, layout.Recognize{Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Out: "s3://out/r/", Batch: "b"}, 0, 3); err != nil {
		t.Fatal(err)
	}
	rc, _, err := f.store.Bucket("out").Get(t.Context(), "r/docs/a.png.json")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 256)
	n, _ := rc.Read(buf)
	rc.Close()
	b.Write(buf[:n])
	if !strings.Contains(b.String(), "a user's own file") {
		t.Errorf("a non-result object was replaced: %s", b.String())
	}
	if got := bs.codes["s3://in/docs/a.png"]; got != "result_conflict" {
		t.Errorf("recorded %q, want result_conflict", got)
	}
}

// A result key over S3's 1,024 bytes is a permanent key_too_long, found
// before any vendor call and counted in the batch; nothing is retried.
func TestResultKeyTooLongFailsBeforeTheVendor(t *testing.T) {
	f := newFixture(t)
	bs := &fakeBatches{}
	f.h.Batches = bs
	key := "docs/" + strings.Repeat("x", 1016) + ".png" // fits as a source, not as a result
	f.put(t, "in", key, f.image)
	p := layout.Recognize{Source: "s3://in/" + key, Type: result.TypeReceipt, Out: "s3://out/r/", Batch: "b"}
	if err := f.run(t, p, 0, 3); err != nil {
		t.Fatalf("got %v, want the task done", err)
	}
	if got := bs.codes[p.Source]; got != "key_too_long" {
		t.Errorf("recorded %q, want key_too_long", got)
	}
	if f.vendor.calls != 0 {
		t.Errorf("vendor called %d times", f.vendor.calls)
	}
}

// A 4xx from storage other than not-found, throttling or a precondition
// (here: S3's 400 for a key too long) is permanent, not storage_unavailable.
func TestStorageClientErrorIsPermanent(t *testing.T) {
	err := storageErr(httpErr{400, "KeyTooLongError"}, "result")
	if err.Retryable || err.Code == "storage_unavailable" {
		t.Errorf("400 classified as %s retryable=%v", err.Code, err.Retryable)
	}
	for _, e := range []error{httpErr{503, "ServiceUnavailable"}, httpErr{429, "SlowDown"}, httpErr{400, "RequestTimeout"}} {
		if got := storageErr(e, "result"); !got.Retryable {
			t.Errorf("%v classified as permanent %s", e, got.Code)
		}
	}
}

type httpErr struct {
	status int
	code   string
}

func (e httpErr) Error() string       { return e.code }
func (e httpErr) HTTPStatusCode() int { return e.status }
func (e httpErr) ErrorCode() string   { return e.code }

// A PDF replaced by a larger one after the HEAD is spooled no further than
// worker.maxSourceBytes: too_large, not a whole download.
func TestPDFReadIsBoundedByTheLimit(t *testing.T) {
	f := newFixture(t)
	f.h.Config.Worker.MaxSourceBytes = 16 << 10
	small := testimages.PDF(1, 1)
	f.put(t, "in", "doc.pdf", small)
	info, err := f.store.Bucket("in").Head(t.Context(), "doc.pdf")
	if err != nil {
		t.Fatal(err)
	}
	f.put(t, "in", "doc.pdf", testimages.Large("pdf", 64<<10)) // replaced after the HEAD
	j := f.h.newJob(doc(t, layout.Recognize{V: layout.PayloadVersion, Source: "s3://in/doc.pdf", Type: result.TypeReceipt, Out: "s3://out/r/"}), f.h.Log, 0, 3)
	j.vendor = f.h.Vendors["v"]
	src, err := f.h.fetch(t.Context(), j, f.store.Bucket("in"), info, "source image", fetchOptions{})
	defer src.close()
	if e, ok := ocrerr.As(err); !ok || e.Code != "too_large" {
		t.Errorf("got %v, want too_large", err)
	}
}

// With storage.buckets set, a task outside them fails as
// forbidden_location before anything is read: as a result when the output
// may be written, in the batch only when not.
func TestForbiddenLocationFailsBeforeAnyRead(t *testing.T) {
	f := newFixture(t)
	bs := &fakeBatches{}
	f.h.Batches = bs
	f.h.Buckets = storage.AllowList{Read: []string{"in"}, Write: []string{"out"}}
	f.put(t, "secret", "docs/a.png", f.image)
	reads := &countingStore{Store: f.store}
	f.h.Store = reads
	fromSecret := layout.Recognize{Source: "s3://secret/docs/a.png", Type: result.TypeReceipt, Out: "s3://out/r/", Batch: "b"}
	toSecret := layout.Recognize{Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Out: "s3://secret/r/", Batch: "b"}
	for _, p := range []layout.Recognize{fromSecret, toSecret} {
		if err := f.run(t, p, 0, 3); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := f.result(t, "r/docs/a.png.json"); r.Error == nil || r.Error.Code != "forbidden_location" {
		t.Errorf("source outside storage.buckets.read: %+v", r.Error)
	}
	if bs.codes[toSecret.Source] != "forbidden_location" || f.exists(t, "secret", "r/docs/a.png.json") {
		t.Errorf("output outside storage.buckets.write: recorded %q", bs.codes[toSecret.Source])
	}
	if reads.secret > 0 || f.vendor.calls != 0 {
		t.Errorf("%d operations on the forbidden bucket, %d vendor calls", reads.secret, f.vendor.calls)
	}
}

// countingStore counts operations on the bucket "secret".
type countingStore struct {
	storage.Store
	secret int
}

func (c *countingStore) Bucket(name string) storage.Bucket {
	if name == "secret" {
		c.secret++
	}
	return c.Store.Bucket(name)
}

// The same for a streamed image: the stream stops at the limit.
func TestStreamedReadIsBoundedByTheLimit(t *testing.T) {
	f := newFixture(t)
	f.h.Vendors["v"].MaxImageBytes = 4 << 10
	info, err := f.store.Bucket("in").Head(t.Context(), "docs/a.png")
	if err != nil {
		t.Fatal(err)
	}
	f.put(t, "in", "docs/a.png", testimages.Large("png", 64<<10)) // replaced after the HEAD
	j := f.h.newJob(doc(t, layout.Recognize{V: layout.PayloadVersion, Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Out: "s3://out/r/"}), f.h.Log, 0, 3)
	j.vendor = f.h.Vendors["v"]
	img, oerr := f.h.fetch(t.Context(), j, f.store.Bucket("in"), info, "source image", fetchOptions{})
	if oerr != nil {
		t.Fatal(oerr)
	}
	defer img.close()
	rc, err := img.pages[0].Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if e, ok := ocrerr.As(err); !ok || e.Code != "too_large" || n > 4<<10 {
		t.Errorf("read %d bytes, error %v; want at most the limit and too_large", n, err)
	}
	// Exactly the limit is fine.
	exact := testimages.Large("png", 4<<10)
	f.put(t, "in", "docs/b.png", exact)
	info, _ = f.store.Bucket("in").Head(t.Context(), "docs/b.png")
	img, oerr = f.h.fetch(t.Context(), j, f.store.Bucket("in"), info, "source image", fetchOptions{})
	if oerr != nil {
		t.Fatal(oerr)
	}
	defer img.close()
	rc, _ = img.pages[0].Open(t.Context())
	n, err = io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != int64(len(exact)) {
		t.Errorf("exact limit: read %d of %d: %v", n, len(exact), err)
	}
}

// With keepRaw, a raw copy key over the limit is found before the call
// too; the result itself still fits, so it says key_too_long.
func TestRawKeyTooLongFailsBeforeTheVendor(t *testing.T) {
	f := newFixture(t)
	f.h.Vendors["v"].KeepRaw = true
	key := "docs/" + strings.Repeat("x", 1005) + ".png" // result key 1,019 bytes, raw key 1,028
	f.put(t, "in", key, f.image)
	if err := f.run(t, layout.Recognize{Source: "s3://in/" + key, Type: result.TypeReceipt, Out: "s3://out/r/"}, 0, 3); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "r/"+key+".json"); r.Error == nil || r.Error.Code != "key_too_long" || f.vendor.calls != 0 {
		t.Errorf("error %+v after %d vendor calls, want key_too_long and none", r.Error, f.vendor.calls)
	}
}

// A missing source's failed result (no source ETag) is still its result:
// once the source appears, the next run replaces it.
func TestMissingSourceResultIsReplacedOnceTheSourceExists(t *testing.T) {
	f := newFixture(t)
	p := layout.Recognize{Source: "s3://in/late.png", Type: result.TypeReceipt, Out: "s3://out/r/"}
	if err := f.run(t, p, 0, 3); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "r/late.png.json"); r.Error == nil || r.Error.Code != "source_not_found" {
		t.Fatalf("first run: %+v", r.Error)
	}
	f.put(t, "in", "late.png", f.image)
	if err := f.run(t, p, 0, 3); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "r/late.png.json"); r.Status != result.StatusSucceeded {
		t.Errorf("after the source appeared: %s %+v", r.Status, r.Error)
	}
}

// A run that loses the race to a concurrent run of the same source version
// keeps the first result, and the batch counts the result that stands,
// not the loser's outcome (seen in CI: a run whose source HEAD failed
// during a MinIO restart counted "failed" beside a "succeeded" result).
func TestLosingRunCountsTheResultThatStands(t *testing.T) {
	f := newFixture(t)
	batches := &fakeBatches{}
	f.h.Batches = batches
	p := layout.Recognize{V: layout.PayloadVersion, Source: receiptTask.Source, Type: receiptTask.Type, Out: receiptTask.Out, Batch: "b1"}
	job := f.h.newJob(doc(t, p), zerolog.Nop(), 0, 3)
	src, _ := f.store.Bucket("in").Head(t.Context(), "docs/a.png")
	job.res.Source.ETag = src.ETag
	job.resultSeen, job.seenResult = true, nil // no result when this run began
	if err := f.run(t, p, 0, 3); err != nil {  // the concurrent run succeeds
		t.Fatal(err)
	}
	if err := f.h.finish(t.Context(), job, ocrerr.Permanent(ocrerr.SourceNotFound, "source image not found")); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.result(t, "r/docs/a.png.json"); r.Status != result.StatusSucceeded {
		t.Fatalf("status %s: the concurrent run's result was replaced", r.Status)
	}
	if code, ok := batches.codes[p.Source]; !ok || code != "" {
		t.Errorf("batch counts the source with code %q (counted: %v), want the standing success", code, ok)
	}
}
