package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/export"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// waitBatchDone polls `producer status` until the batch is done.
func waitBatchDone(t *testing.T, s *stack.Stack, id string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := producer(t, s, 0, "status", id)
		if strings.Contains(out, "done in") {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s not done after %s: %s", id, timeout, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestExportBatch: a batch of receipts with one failure and one source
// skipped because an earlier batch already read it. `producer export BATCH`
// gives every source exactly once (the skipped one with its existing
// result, which names the other batch), as JSONL equal to the stored
// results and as CSV whose rows and cells match them; --items --excel
// --to PREFIX/ writes the item rows with a BOM; --prefix exports everything
// under the output; bad usage exits 2.
func TestExportBatch(t *testing.T) {
	s := newStack(t, stack.Options{})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	var want []string // source URIs of batch "exp"
	for i := 0; i < 4; i++ {
		key := fmt.Sprintf("receipts/r%d.png", i)
		put(t, in, key, testimages.PNG(int64(100+i), 48, 32, nil))
		want = append(want, "s3://inbox/"+key)
	}
	put(t, in, "receipts/torn.png", []byte("this is not an image at all, just text\n"))
	want = append(want, "s3://inbox/receipts/torn.png")
	sort.Strings(want)
	// Noise under the same output: another batch's result.
	put(t, in, "other/x.png", testimages.PNG(99, 48, 32, nil))

	if _, err := s.StartWorker("--concurrency", "4"); err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/res/", "--batch", "early", "s3://inbox/receipts/r0.png", "s3://inbox/other/x.png")
	waitBatchDone(t, s, "early", 2*time.Minute)
	o := producer(t, s, 0, "enqueue", "--type", "receipt", "--out", "s3://outbox/res/", "--batch", "exp", "s3://inbox/receipts/")
	if n, skipped, _ := enqueuedLine(t, o); n != 4 || skipped != 1 {
		t.Fatalf("enqueue: %q", o)
	}
	waitBatchDone(t, s, "exp", 2*time.Minute)

	// The stored results, by source.
	stored := map[string]Result{}
	for key := range waitResults(t, out, "res/", 6, time.Minute) {
		r := readResult(t, out, key)
		stored[r.Source["uri"].(string)] = r
	}
	if b := stored["s3://inbox/receipts/r0.png"].Batch; b != "early" {
		t.Fatalf("skipped source's result names batch %q, want early", b)
	}

	// JSONL: one line per source of the batch, each the stored result compacted.
	jsonl := producer(t, s, 0, "export", "exp")
	lines := strings.Split(strings.TrimSuffix(jsonl, "\n"), "\n")
	var got []string
	for _, l := range lines {
		var r Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		uri := r.Source["uri"].(string)
		got = append(got, uri)
		var compact bytes.Buffer
		if err := json.Compact(&compact, stored[uri].raw); err != nil {
			t.Fatal(err)
		}
		if l != compact.String() {
			t.Errorf("%s: exported line differs from the stored result\n got %s\nwant %s", uri, l, compact.String())
		}
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("JSONL sources %v, want %v", got, want)
	}

	// CSV: the receipt columns, one row per source, cells from the results.
	rows := readCSV(t, producer(t, s, 0, "export", "exp", "--format", "csv"))
	cols, _ := export.Columns("receipt", false)
	if !reflect.DeepEqual(rows[0], cols) {
		t.Fatalf("header %v, want %v", rows[0], cols)
	}
	if len(rows)-1 != len(want) {
		t.Fatalf("%d rows, want %d", len(rows)-1, len(want))
	}
	col := index(cols)
	for _, row := range rows[1:] {
		r, ok := stored[row[col["source_uri"]]]
		if !ok {
			t.Errorf("row of unknown source %v", row)
			continue
		}
		if row[col["status"]] != r.Status {
			t.Errorf("%s: status %q, want %q", row[0], row[col["status"]], r.Status)
		}
		if r.Status == "failed" {
			if row[col["error_code"]] != r.Error.Code || r.Error.Code != "invalid_image" || row[col["store_name"]] != "" {
				t.Errorf("failed row %v, result error %+v", row, r.Error)
			}
			continue
		}
		f := r.Fields.(map[string]any)
		if w := fieldCell(f, "store", "name"); row[col["store_name"]] != w || w == "" {
			t.Errorf("%s: store_name %q, want %q", row[0], row[col["store_name"]], w)
		}
		if w := fieldCell(f, "totalPrice"); row[col["total"]] != w || w == "" {
			t.Errorf("%s: total %q, want %q", row[0], row[col["total"]], w)
		}
		if w := fieldCell(f, "payment", "cardNumber"); row[col["card_number"]] != w {
			t.Errorf("%s: card_number %q, want %q (as masked in the result)", row[0], row[col["card_number"]], w)
		}
		items, _ := f["items"].([]any)
		if row[col["item_count"]] != fmt.Sprint(len(items)) {
			t.Errorf("%s: item_count %q, want %d", row[0], row[col["item_count"]], len(items))
		}
	}

	// --items --excel --to PREFIX/: one CSV per type under the prefix, with
	// a BOM; one row per item, and one for a source without items.
	producer(t, s, 0, "export", "exp", "--format", "csv", "--items", "--excel", "--to", "s3://outbox/exports/exp/")
	rc, info, err := out.Get(t.Context(), "exports/exp/receipt-items.csv")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) || !strings.HasPrefix(info.ContentType, "text/csv") {
		t.Errorf("items CSV: no BOM or content type %q", info.ContentType)
	}
	rows = readCSV(t, string(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))))
	icols, _ := export.Columns("receipt", true)
	if !reflect.DeepEqual(rows[0], icols) {
		t.Fatalf("items header %v, want %v", rows[0], icols)
	}
	wantRows := 0
	perSource := map[string]int{}
	for _, uri := range want {
		r := stored[uri]
		n := 1
		if f, ok := r.Fields.(map[string]any); ok {
			if items, _ := f["items"].([]any); len(items) > 0 {
				n = len(items)
			}
		}
		wantRows += n
		perSource[uri] = n
	}
	for _, row := range rows[1:] {
		perSource[row[0]]--
	}
	if len(rows)-1 != wantRows {
		t.Errorf("%d item rows, want %d", len(rows)-1, wantRows)
	}
	for uri, n := range perSource {
		if n != 0 {
			t.Errorf("%s: item rows off by %d", uri, -n)
		}
	}

	// --prefix: every result under the output, the other batch's too.
	jsonl = producer(t, s, 0, "export", "--prefix", "s3://outbox/res/")
	if n := strings.Count(jsonl, "\n"); n != 6 {
		t.Errorf("--prefix exported %d results, want 6", n)
	}

	// Bad usage exits 2 with a message; an unknown batch exits 1.
	for _, args := range [][]string{
		{"export"},
		{"export", "exp", "--prefix", "s3://outbox/res/"},
		{"export", "exp", "--format", "xml"},
		{"export", "exp", "--excel"},
		{"export", "exp", "--format", "csv", "--items", "--type", "passport"},
		{"export", "exp", "--to", "ftp://x/y"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		_, errOut, code, err := s.Run(ctx, "producer", args...)
		cancel()
		if err != nil || code != 2 || strings.TrimSpace(errOut) == "" {
			t.Errorf("%v: exit %d %v, stderr %q; want 2 and a message", args, code, err, errOut)
		}
	}
	producer(t, s, 1, "export", "no-such-batch")
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("CSV: %v\n%s", err, s)
	}
	return rows
}

func index(cols []string) map[string]int {
	m := map[string]int{}
	for i, c := range cols {
		m[c] = i
	}
	return m
}

// fieldCell is what a CSV cell of a result field holds: its value, or its
// text when the value did not normalize.
func fieldCell(fields map[string]any, path ...string) string {
	var v any = fields
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	f, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if val, ok := f["value"]; ok && val != nil {
		if n, ok := val.(float64); ok {
			return fmt.Sprint(n)
		}
		return fmt.Sprint(val)
	}
	s, _ := f["text"].(string)
	return s
}
