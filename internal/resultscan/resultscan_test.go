package resultscan

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// members is a batch's membership: source URI -> belongs.
type members map[string]bool

func (m members) Members(_ context.Context, _ string, sources []string) ([]bool, error) {
	out := make([]bool, len(sources))
	for i, s := range sources {
		out[i] = m[s]
	}
	return out, nil
}

func putResult(t *testing.T, b storage.Bucket, key, source, batchID string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"schema": "ocr-result/v1", "status": "succeeded", "documentType": "receipt",
		"batch": batchID, "source": map[string]any{"uri": source}})
	_, err := b.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)),
		storage.PutOptions{Metadata: layout.ResultMeta(layout.Owner(source), `"e"`, "succeeded", "", "")})
	if err != nil {
		t.Fatal(err)
	}
}

func putPlain(t *testing.T, b storage.Bucket, key string) {
	t.Helper()
	if _, err := b.Put(context.Background(), key, bytes.NewReader([]byte("{}")), 2, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func sources(t *testing.T, seq func(func([]byte, error) bool)) []string {
	t.Helper()
	var out []string
	for raw, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Source struct{ URI string } }
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Source.URI)
	}
	return out
}

// A batch's export holds the results of its sources, including a skipped
// source whose result names an older batch, across listing pages, and
// nothing else under the same prefix: other batches' results, raw copies,
// summaries, images, and a result of another bucket's source of the same key.
func TestBatchAndPrefix(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	out := mem.Bucket("outbox")
	m := members{}
	var want, all []string
	for i := 0; i < 600; i++ { // over two pages
		src := fmt.Sprintf("s3://inbox/docs/%04d.png", i)
		key := fmt.Sprintf("r/docs/%04d.png.json", i)
		switch {
		case i%3 == 0: // another batch's
			putResult(t, out, key, src, "other")
		case i == 7: // skipped by this batch: the result is an older batch's
			putResult(t, out, key, src, "older")
			m[src] = true
			want = append(want, src)
		default:
			putResult(t, out, key, src, "b")
			// A batch counts its sources without recording them: their
			// results name it. Older batches recorded them.
			m[src] = i%2 == 0
			want = append(want, src)
		}
		all = append(all, src)
	}
	// Same key, another bucket's source: a member of the batch whose result
	// is not there (the owner's is).
	m["s3://other-in/docs/0000.png"] = true
	putPlain(t, out, "r/docs/0001.png.raw.json") // a raw copy of the old layout
	putPlain(t, out, "r/_ocr/raw/docs/0001.png.json")
	putPlain(t, out, "r/_ocr/batches/b.json")
	putPlain(t, out, "r/_batches/b.json")
	putPlain(t, out, "r/docs/0002.png")

	s := &Scanner{Store: mem}
	outs := []batch.Output{{Source: "s3://inbox/", Out: "s3://outbox/r/"}, {Source: "s3://other-in/", Out: "s3://outbox/r"}}
	if got := sources(t, s.Batch(ctx, m, "b", outs)); !reflect.DeepEqual(got, want) {
		t.Errorf("batch: %d results, want %d\ngot  %v\nwant %v", len(got), len(want), got[:min(5, len(got))], want[:5])
	}
	if st := s.Stats(); st.OtherBatch != 200 || st.NotResults != 2 {
		t.Errorf("stats %+v, want 200 results not of the batch and 2 no results (a raw copy, an old summary)", st)
	}

	p := &Scanner{Store: mem}
	if got := sources(t, p.Prefix(ctx, "s3://outbox/r/")); !reflect.DeepEqual(got, all) {
		t.Errorf("prefix: %d results, want %d", len(got), len(all))
	}
	if st := p.Stats(); st.NotResults != 2 || st.Listed != 602 {
		t.Errorf("prefix stats %+v, want 2 non-results (raw copy, old summary) of 602 listed", st)
	}
}

// A consumer that stops early stops the listing.
func TestStopEarly(t *testing.T) {
	mem := memory.New()
	out := mem.Bucket("outbox")
	for i := 0; i < 300; i++ {
		putResult(t, out, fmt.Sprintf("r/%03d.png.json", i), fmt.Sprintf("s3://in/%03d.png", i), "b")
	}
	n := 0
	for _, err := range (&Scanner{Store: mem}).Prefix(context.Background(), "s3://outbox/r/") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("%d", n)
	}
}
