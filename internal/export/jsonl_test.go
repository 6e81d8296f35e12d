package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
)

func TestJSONLIsEachResultCompactOnOneLine(t *testing.T) {
	in := []any{sample(result.TypeReceipt), multiPage(), failed(result.TypeIDCard, "s3://b/x.jpg", "too_large")}
	var out strings.Builder
	w := NewJSONL(&out, Options{})
	for _, r := range in {
		if err := w.Write(marshal(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(in) {
		t.Fatalf("%d lines, want %d", len(lines), len(in))
	}
	for i, r := range in {
		var want bytes.Buffer
		json.Compact(&want, marshal(t, r))
		if lines[i] != want.String() {
			t.Errorf("line %d differs from the stored result:\n got %s\nwant %s", i+1, lines[i], want.String())
		}
	}
}

func TestJSONLTypeFilter(t *testing.T) {
	var out strings.Builder
	w := NewJSONL(&out, Options{Type: result.TypeIDCard})
	for _, r := range []any{sample(result.TypeReceipt), sample(result.TypeIDCard)} {
		if err := w.Write(marshal(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if n := strings.Count(out.String(), "\n"); n != 1 || !strings.Contains(out.String(), `"documentType":"id-card"`) {
		t.Errorf("output = %s", out.String())
	}
	if st := w.Stats(); st.Skipped[result.TypeReceipt] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDecodeReadsJSONLinesAndConcatenatedObjects(t *testing.T) {
	in := string(marshal(t, sample(result.TypeReceipt))) + string(marshal(t, sample(result.TypePassport))) + "\n" +
		`{"schema":"ocr-result/v1","status":"failed","documentType":"receipt","source":{"uri":"s3://b/k"},"fields":null,"error":{"code":"too_large"}}` + "\n"
	var out strings.Builder
	w, _ := NewCSV(&out, Options{Type: result.TypeReceipt})
	if err := Copy(w, Decode(strings.NewReader(in))); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if st := w.Stats(); st.Results != 2 || st.Skipped[result.TypePassport] != 1 {
		t.Errorf("stats = %+v", st)
	}

	n := 0
	var err error
	for _, err = range Decode(strings.NewReader(`{"a":1} {"b": `)) {
		if err == nil {
			n++
		}
	}
	if n != 1 || err == nil || !strings.Contains(err.Error(), "input object 2") {
		t.Errorf("n=%d err=%v, want 1 object then an error naming object 2", n, err)
	}
}
