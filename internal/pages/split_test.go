package pages

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"golang.org/x/image/tiff"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

func readAll(t *testing.T, img Image) []byte {
	t.Helper()
	rc, err := img.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != img.Size {
		t.Errorf("image has %d bytes, Size says %d", len(data), img.Size)
	}
	return data
}

func split(t *testing.T, data []byte, format string, opt SplitOptions) *Document {
	t.Helper()
	if opt.TempDir == "" {
		opt.TempDir = t.TempDir()
	}
	doc, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), format, opt)
	if err != nil {
		t.Fatalf("Split(%s): %v", format, err)
	}
	t.Cleanup(func() { doc.Close() })
	return doc
}

func wantCode(t *testing.T, err error, code ocrerr.Code) {
	t.Helper()
	e, ok := ocrerr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("error = %v; want code %s", err, code)
	}
}

// pdfPageText reads a single-page PDF back with pdfcpu and returns its
// page's content stream.
func pdfPageText(t *testing.T, data []byte) string {
	t.Helper()
	pdf, err := imageformat.ReadPDF(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("page does not read back: %v", err)
	}
	if pdf.PageCount != 1 {
		t.Fatalf("page file has %d pages, want 1", pdf.PageCount)
	}
	r, err := pdfcpu.ExtractPageContent(pdf, 1)
	if err != nil {
		t.Fatal(err)
	}
	content, _ := io.ReadAll(r)
	return string(content)
}

func TestSplitPDF(t *testing.T) {
	for name, data := range map[string][]byte{
		"classic xref":   testimages.PDF(3, 7),
		"object streams": testimages.PDFObjectStreams(3, 7),
	} {
		doc := split(t, data, "pdf", SplitOptions{MaxPages: 3})
		if doc.Count != 3 || len(doc.Pages) != 3 {
			t.Fatalf("%s: Count %d, %d pages; want 3, 3", name, doc.Count, len(doc.Pages))
		}
		for i, page := range doc.Pages {
			if page.Format != "pdf" {
				t.Errorf("%s page %d: format %q", name, i+1, page.Format)
			}
			text := pdfPageText(t, readAll(t, page))
			if want := fmt.Sprintf("page %d of 3", i+1); !strings.Contains(text, want) {
				t.Errorf("%s page %d: content %q does not hold %q", name, i+1, text, want)
			}
		}
	}
}

func TestSplitPDFScanned(t *testing.T) {
	doc := split(t, testimages.ScannedPDF(3, 3, 40, 60), "pdf", SplitOptions{})
	if doc.Count != 3 || len(doc.Pages) != 3 {
		t.Fatalf("Count %d, %d pages; want 3, 3", doc.Count, len(doc.Pages))
	}
}

func TestSplitFirstOnly(t *testing.T) {
	doc := split(t, testimages.PDF(4, 1), "pdf", SplitOptions{FirstOnly: true})
	if doc.Count != 4 || len(doc.Pages) != 1 {
		t.Fatalf("Count %d, %d pages; want 4, 1", doc.Count, len(doc.Pages))
	}
	if text := pdfPageText(t, readAll(t, doc.Pages[0])); !strings.Contains(text, "page 1 of 4") {
		t.Errorf("page 1 content %q", text)
	}
}

func TestSplitTooManyPagesBeforeAnyWork(t *testing.T) {
	for format, data := range map[string][]byte{
		"pdf":  testimages.PDFObjectStreams(3, 1),
		"tiff": testimages.TIFF(1, 3),
	} {
		dir := t.TempDir()
		_, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), format, SplitOptions{MaxPages: 2, TempDir: dir})
		wantCode(t, err, ocrerr.TooManyPages)
		if !strings.Contains(err.Error(), "3 pages") {
			t.Errorf("%s: message %q does not say how many pages", format, err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s: %d files spooled before refusing", format, len(left))
		}
	}
}

func TestSplitEncryptedPDF(t *testing.T) {
	data := testimages.EncryptedPDF(2, 1, "secret", "owner")
	_, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), "pdf", SplitOptions{TempDir: t.TempDir()})
	wantCode(t, err, ocrerr.UnsupportedFormat)
	if !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("message %q does not say why", err)
	}
}

func TestSplitSinglePageIsTheSource(t *testing.T) {
	for format, data := range map[string][]byte{
		"pdf":  testimages.PDF(1, 2),
		"tiff": testimages.TIFF(2, 1),
		"png":  testimages.PNG(2, 8, 8, nil),
	} {
		doc := split(t, data, format, SplitOptions{MaxPages: 1})
		if doc.Count != 1 || len(doc.Pages) != 1 || !bytes.Equal(readAll(t, doc.Pages[0]), data) {
			t.Errorf("%s: a single page must be passed as it is", format)
		}
	}
}

func TestSplitCloseRemovesPages(t *testing.T) {
	dir := t.TempDir()
	data := testimages.TIFF(1, 2)
	doc, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), "tiff", SplitOptions{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("want one spool directory, have %d entries", len(left))
	}
	doc.Close()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("Close left %d entries", len(left))
	}
}

// tiffPage decodes page i of a multi-page TIFF independently of the
// splitter: golang.org/x/image/tiff reads the first IFD only, so the header's
// first-IFD offset is pointed at page i.
func tiffPage(t *testing.T, data []byte, i int) image.Image {
	t.Helper()
	_, ifds, err := imageformat.TIFFDirectories(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	patched := append([]byte{}, data...)
	binary.LittleEndian.PutUint32(patched[4:], ifds[i])
	img, err := tiff.Decode(bytes.NewReader(patched))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

func TestSplitTIFF(t *testing.T) {
	data := testimages.TIFF(9, 3)
	doc := split(t, data, "tiff", SplitOptions{MaxPages: 3})
	if doc.Count != 3 || len(doc.Pages) != 3 {
		t.Fatalf("Count %d, %d pages; want 3, 3", doc.Count, len(doc.Pages))
	}
	for i, page := range doc.Pages {
		single := readAll(t, page)
		if n, err := imageformat.PageCount(bytes.NewReader(single), int64(len(single)), "tiff"); err != nil || n != 1 {
			t.Fatalf("page %d: PageCount = %d, %v; want 1", i+1, n, err)
		}
		got, err := tiff.Decode(bytes.NewReader(single))
		if err != nil {
			t.Fatalf("page %d does not decode: %v", i+1, err)
		}
		if !samePixels(got, tiffPage(t, data, i)) {
			t.Errorf("page %d: pixels differ from the source's page %d", i+1, i+1)
		}
		if i > 0 && samePixels(got, tiffPage(t, data, 0)) {
			t.Errorf("page %d has page 1's pixels", i+1)
		}
	}
}

// TestTIFFPageCompressed copies a Deflate-compressed, big-endian-free
// encoder-written TIFF page (out-of-line values, a predictor) faithfully.
func TestTIFFPageCompressed(t *testing.T) {
	src, err := tiff.Decode(bytes.NewReader(testimages.TIFF(4, 1)))
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	if err := tiff.Encode(&enc, src, &tiff.Options{Compression: tiff.Deflate, Predictor: true}); err != nil {
		t.Fatal(err)
	}
	data := enc.Bytes()
	order, ifds, err := imageformat.TIFFDirectories(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeTIFFPage(&out, bytes.NewReader(data), int64(len(data)), order, ifds[0]); err != nil {
		t.Fatal(err)
	}
	got, err := tiff.Decode(&out)
	if err != nil {
		t.Fatalf("copied page does not decode: %v", err)
	}
	if !samePixels(got, src) {
		t.Error("copied page's pixels differ")
	}
}

func TestSplitTIFFCorrupt(t *testing.T) {
	data := testimages.TIFF(1, 2)
	// Point page 2's StripOffsets past the end of the file.
	_, ifds, _ := imageformat.TIFFDirectories(bytes.NewReader(data), int64(len(data)))
	le := binary.LittleEndian
	for e := ifds[1] + 2; ; e += 12 {
		if le.Uint16(data[e:]) == 273 {
			le.PutUint32(data[e+8:], uint32(len(data)+100))
			break
		}
	}
	_, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), "tiff", SplitOptions{TempDir: t.TempDir()})
	wantCode(t, err, ocrerr.InvalidImage)
}

func TestSplitPDFChargesTheBudget(t *testing.T) {
	data := testimages.PDF(2, 1)
	budget := NewBudget(1 << 30)
	var charged int64
	budget.acquired = func(w int64) { charged = w }
	split(t, data, "pdf", SplitOptions{Budget: budget})
	if charged != pdfMemoryFactor*int64(len(data)) {
		t.Errorf("splitting a %d-byte PDF charged %d to the budget", len(data), charged)
	}
}

// TestSplitPDFNamedDestinations splits a real PDF whose named
// destinations, carried over page by page, used to leave later page files
// unreadable.
func TestSplitPDFNamedDestinations(t *testing.T) {
	data, err := os.ReadFile("testdata/adobe_errata.pdf")
	if err != nil {
		t.Fatal(err)
	}
	doc := split(t, data, "pdf", SplitOptions{})
	if doc.Count < 2 || len(doc.Pages) != doc.Count {
		t.Fatalf("Count %d, %d pages", doc.Count, len(doc.Pages))
	}
	for i, page := range doc.Pages {
		b := readAll(t, page)
		if n, err := imageformat.PageCount(bytes.NewReader(b), int64(len(b)), "pdf"); err != nil || n != 1 {
			t.Errorf("page %d: PageCount = %d, %v; want 1", i+1, n, err)
		}
	}
}

func FuzzSplitTIFF(f *testing.F) {
	f.Add(testimages.TIFF(1, 2))
	f.Add(testimages.TIFF(2, 3)[:300])
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), "tiff", SplitOptions{MaxPages: 8, TempDir: t.TempDir()})
		if err != nil {
			if _, classified := ocrerr.As(err); !classified {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		defer doc.Close()
		for _, page := range doc.Pages {
			if page.Size > int64(len(data))+1<<16 {
				t.Fatalf("a page of %d bytes from a %d-byte file", page.Size, len(data))
			}
		}
	})
}

func TestSpoolSource(t *testing.T) {
	dir := t.TempDir()
	data := testimages.TIFF(3, 3)
	s, err := SpoolSource(bytes.NewReader(data), dir, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Split(context.Background(), s, s.Size, "tiff", SplitOptions{TempDir: dir})
	if err != nil || doc.Count != 3 {
		t.Fatalf("Split of the spooled source: %v", err)
	}
	doc.Close()
	s.Close()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d files left after Close", len(left))
	}
	_, err = SpoolSource(bytes.NewReader(data), dir, int64(len(data))-1)
	wantCode(t, err, ocrerr.TooLarge)
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a refused source left %d files", len(left))
	}
}
