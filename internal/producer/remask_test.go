package producer

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendorset"
)

// An old result: whole numbers in free text and in its raw copy (a key in
// another case, as an older version let through).
const oldResult = `{"schema":"ocr-result/v1","status":"succeeded","documentType":"receipt",
 "source":{"uri":"s3://in/a.jpg","size":1},"vendor":{"name":"clova","kind":"clova-ocr"},"attempts":1,
 "startedAt":"2026-01-01T00:00:00.000Z","completedAt":"2026-01-01T00:00:00.000Z","durationMs":0,
 "fields":{"store":{"address":[{"value":"주민 800101-1234567","text":"주민 800101-1234567"}],
  "bizNum":{"value":"110111-1234567","text":"110111-1234567"}},
  "payment":{"cardNumber":{"value":"5307123456789014","text":"5307123456789014"}}},
 "error":null,"pagesFromANewerVersion":[1]}`

const oldRaw = `{"images":[{"receipt":{"result":{"paymentInfo":{"cardInfo":{"Number":{"text":"5307123456789014"}}},
 "storeInfo":{"addresses":[{"text":"주민 800101-1234567"}]}}}}]}`

func remaskFixture(t *testing.T) (*memory.Store, storage.Bucket) {
	t.Helper()
	store := memory.New()
	b := store.Bucket("out")
	meta := map[string]string{"source-etag": `"e1"`, "status": "succeeded"}
	putObj(t, b, "r/a.jpg.json", []byte(oldResult), meta)
	putObj(t, b, "r/a.jpg.raw.json", []byte(oldRaw), nil)
	putObj(t, b, "r/_batches/b1.json", []byte(`{"batch":"b1","note":"800101-1234567"}`), nil)
	putObj(t, b, "r/notes.json", []byte(`{"schema":"something-else","text":"800101-1234567"}`), nil)
	putObj(t, b, "r/photo.jpg", []byte("800101-1234567"), nil)
	return store, b
}

func get(t *testing.T, b storage.Bucket, key string) (string, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	return string(data), info
}

func TestRemaskRewritesOldResultsAndRawCopies(t *testing.T) {
	store, b := remaskFixture(t)

	dry := &Remasker{Store: store, MaskRaw: vendorset.MaskRaw, DryRun: true}
	sum, err := dry.Run(t.Context(), storage.URI{Bucket: "out", Key: "r/"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Results != 1 || sum.Changed != 1 || sum.RawChanged != 1 || sum.Skipped != 3 {
		t.Errorf("dry run summary %+v", sum)
	}
	if got, _ := get(t, b, "r/a.jpg.json"); got != oldResult {
		t.Error("dry run rewrote a result")
	}

	r := &Remasker{Store: store, MaskRaw: vendorset.MaskRaw}
	if sum, err = r.Run(t.Context(), storage.URI{Bucket: "out", Key: "r/"}); err != nil {
		t.Fatal(err)
	}
	if sum.Changed != 1 || sum.RawChanged != 1 || !strings.Contains(sum.String(), "1 results and 1 raw copies rewritten") {
		t.Errorf("summary %+v %s", sum, sum)
	}
	res, info := get(t, b, "r/a.jpg.json")
	for _, whole := range []string{"800101-1234567", "5307123456789014"} {
		if strings.Contains(res, whole) {
			t.Errorf("remasked result holds %s:\n%s", whole, res)
		}
	}
	for _, kept := range []string{"주민 800101-1******", "5307-12**-****-9014", "110111-1234567", "pagesFromANewerVersion"} {
		if !strings.Contains(res, kept) {
			t.Errorf("remasked result lost %q:\n%s", kept, res)
		}
	}
	if info.Metadata["source-etag"] != `"e1"` || info.Metadata["status"] != "succeeded" || info.ContentType == "" {
		t.Errorf("metadata not kept: %v %q", info.Metadata, info.ContentType)
	}
	raw, _ := get(t, b, "r/a.jpg.raw.json")
	if strings.Contains(raw, "800101-1234567") || strings.Contains(raw, "5307123456789014") {
		t.Errorf("remasked raw copy holds a whole number:\n%s", raw)
	}
	for _, key := range []string{"r/_batches/b1.json", "r/notes.json", "r/photo.jpg"} {
		if got, _ := get(t, b, key); !strings.Contains(got, "800101-1234567") {
			t.Errorf("%s is not a result but was rewritten: %s", key, got)
		}
	}

	// Today's results are left alone: a second run changes nothing.
	if sum, err = r.Run(t.Context(), storage.URI{Bucket: "out", Key: "r/"}); err != nil || sum.Changed != 0 || sum.RawChanged != 0 {
		t.Errorf("second run: %+v %v", sum, err)
	}
}

// racingStore writes a newer result right after remask read the old one.
type racingStore struct{ *memory.Store }

func (s racingStore) Bucket(name string) storage.Bucket { return racingBucket{s.Store.Bucket(name)} }

type racingBucket struct{ storage.Bucket }

func (b racingBucket) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	rc, info, err := b.Bucket.Get(ctx, key)
	if err == nil && key == "r/a.jpg.json" {
		newer := []byte(`{"schema":"ocr-result/v1","status":"succeeded","documentType":"receipt","fields":{"totalPrice":{"value":1,"text":"1"}}}`)
		if _, perr := b.Bucket.Put(ctx, key, bytes.NewReader(newer), int64(len(newer)), storage.PutOptions{}); perr != nil {
			panic(perr)
		}
	}
	return rc, info, err
}

func TestRemaskNeverClobbersAConcurrentNewerResult(t *testing.T) {
	store, b := remaskFixture(t)
	r := &Remasker{Store: racingStore{store}, MaskRaw: vendorset.MaskRaw}
	sum, err := r.Run(t.Context(), storage.URI{Bucket: "out", Key: "r/"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := get(t, b, "r/a.jpg.json"); !strings.Contains(got, `"totalPrice"`) || sum.Conflicts != 1 || sum.Changed != 0 {
		t.Errorf("the newer result was clobbered (%+v):\n%s", sum, got)
	}
}

// A multi-page result: every page's fields and every page's raw copy are
// remasked, not only page 1's.
func TestRemaskReachesEveryPage(t *testing.T) {
	store := memory.New()
	b := store.Bucket("out")
	page := `{"store":{"address":[{"value":"주민 800101-1234567","text":"주민 800101-1234567"}]}}`
	res := `{"schema":"ocr-result/v1","status":"succeeded","documentType":"receipt","source":{"uri":"s3://in/s.pdf","size":1},
 "vendor":{"name":"clova","kind":"clova-ocr"},"attempts":1,"fields":` + page + `,"error":null,"pageCount":2,
 "pages":[{"page":1,"status":"succeeded","fields":` + page + `,"error":null},{"page":2,"status":"succeeded","fields":` + page + `,"error":null}]}`
	putObj(t, b, "r/s.pdf.json", []byte(res), map[string]string{"source-etag": `"e1"`, "status": "succeeded"})
	putObj(t, b, "r/_ocr/raw-pages/s.pdf/1.json", []byte(oldRaw), nil)
	putObj(t, b, "r/_ocr/raw-pages/s.pdf/2.json", []byte(oldRaw), nil)
	r := &Remasker{Store: store, MaskRaw: vendorset.MaskRaw}
	sum, err := r.Run(t.Context(), storage.URI{Bucket: "out", Key: "r/"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Changed != 1 || sum.RawChanged != 2 {
		t.Errorf("summary %+v", sum)
	}
	for _, key := range []string{"r/s.pdf.json", "r/_ocr/raw-pages/s.pdf/1.json", "r/_ocr/raw-pages/s.pdf/2.json"} {
		if got, _ := get(t, b, key); strings.Contains(got, "800101-1234567") || !strings.Contains(got, "800101-1******") {
			t.Errorf("%s not remasked:\n%s", key, got)
		}
	}
}
