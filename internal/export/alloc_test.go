package export

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// An export holds one result at a time: allocations per row do not grow
// with the number of rows already written. Counted, not timed.
func TestCSVAllocationsPerResultStayBounded(t *testing.T) {
	raw := marshal(t, sample(result.TypeReceipt))
	for _, items := range []bool{false, true} {
		w, err := NewCSV(io.Discard, Options{Items: items})
		if err != nil {
			t.Fatal(err)
		}
		write := func() {
			if err := w.Write(raw); err != nil {
				t.Fatal(err)
			}
		}
		early := testing.AllocsPerRun(100, write)
		for range 2000 {
			write()
		}
		late := testing.AllocsPerRun(100, write)
		// One receipt with three items decodes into ~150 small values; the
		// bound is generous, the comparison is the point.
		const bound = 400
		if early > bound || late > bound || late > early+1 {
			t.Errorf("items=%v: %.0f allocs per result at first, %.0f after 2000 more results (bound %d)", items, early, late, bound)
		}
	}
}

// A heap that stays flat while a large stream passes through Decode and a
// Writer: nothing accumulates per result.
func TestExportHeapStaysFlatOverALargeStream(t *testing.T) {
	raw := marshal(t, sample(result.TypeReceipt))
	const n = 3000
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC() // only live memory counts
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	w, _ := NewCSV(io.Discard, Options{})
	before := heap()
	if err := Copy(w, Decode(&repeatReader{obj: raw, n: n})); err != nil {
		t.Fatal(err)
	}
	after := heap()
	if w.Stats().Results != n {
		t.Fatalf("%d results, want %d", w.Stats().Results, n)
	}
	// n results are ~6 MB of JSON; a leak of one copy each would show.
	if after > before+1<<20 {
		t.Errorf("heap grew from %d to %d bytes over %d results", before, after, n)
	}
}

// repeatReader yields obj n times without holding the stream in memory.
type repeatReader struct {
	obj []byte
	n   int
	cur bytes.Reader
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for r.cur.Len() == 0 {
		if r.n == 0 {
			return 0, io.EOF
		}
		r.n--
		r.cur.Reset(r.obj)
	}
	return r.cur.Read(p)
}

func BenchmarkCSVReceipt(b *testing.B) {
	raw := marshal(b, sample(result.TypeReceipt))
	w, _ := NewCSV(io.Discard, Options{})
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := w.Write(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONLReceipt(b *testing.B) {
	raw := marshal(b, sample(result.TypeReceipt))
	w := NewJSONL(io.Discard, Options{})
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if err := w.Write(raw); err != nil {
			b.Fatal(err)
		}
	}
}
