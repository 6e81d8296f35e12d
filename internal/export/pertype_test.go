package export

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// sink is an in-memory file that remembers being closed.
type sink struct {
	strings.Builder
	closed   bool
	closeErr error
}

func (s *sink) Close() error { s.closed = true; return s.closeErr }

func TestCSVPerTypeWritesOneFilePerType(t *testing.T) {
	sinks := map[string]*sink{}
	w := NewCSVPerType(func(docType string) (io.WriteCloser, error) {
		s := &sink{}
		sinks[FileName(docType, false)] = s
		return s, nil
	}, Options{Excel: true})
	for _, r := range []any{sample(result.TypeReceipt), sample(result.TypeIDCard), multiPage(), failed(result.TypeIDCard, "s3://b/x", "source_not_found")} {
		if err := w.Write(marshal(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(sinks))
	for n := range sinks {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"id-card.csv", "receipt.csv"}) {
		t.Fatalf("files = %q", names)
	}
	for name, s := range sinks {
		if !s.closed {
			t.Errorf("%s not closed", name)
		}
		if !strings.HasPrefix(s.String(), bom) {
			t.Errorf("%s: no BOM", name)
		}
	}
	receipts := parseCSV(t, sinks["receipt.csv"].String())
	if want, _ := Columns(result.TypeReceipt, false); !slices.Equal(receipts[0], want) || len(receipts) != 1+1+3 {
		t.Errorf("receipt.csv = %q", receipts)
	}
	ids := parseCSV(t, sinks["id-card.csv"].String())
	if want, _ := Columns(result.TypeIDCard, false); !slices.Equal(ids[0], want) || len(ids) != 3 {
		t.Errorf("id-card.csv = %q", ids)
	}
	if st := w.Stats(); st.Results != 4 || st.Rows != 6 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCSVPerTypeItemsSkipsTypesWithoutItems(t *testing.T) {
	opened := 0
	w := NewCSVPerType(func(string) (io.WriteCloser, error) { opened++; return &sink{}, nil }, Options{Items: true})
	for _, r := range []any{sample(result.TypeReceipt), sample(result.TypeIDCard)} {
		if err := w.Write(marshal(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if st := w.Stats(); opened != 1 || st.Skipped[result.TypeIDCard] != 1 || st.Rows != 3 {
		t.Errorf("opened %d, stats %+v", opened, st)
	}
}

func TestCSVPerTypeReportsASinkThatFailsToClose(t *testing.T) {
	boom := errors.New("upload failed")
	w := NewCSVPerType(func(string) (io.WriteCloser, error) { return &sink{closeErr: boom}, nil }, Options{})
	if err := w.Write(marshal(t, sample(result.TypePassport))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, boom) || !strings.Contains(err.Error(), "passport") {
		t.Errorf("Close = %v", err)
	}
}
