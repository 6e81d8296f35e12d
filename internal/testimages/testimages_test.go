package testimages_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"image/png"
	"regexp"
	"strconv"
	"testing"

	"golang.org/x/image/webp"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

func detect(t *testing.T, data []byte, want string) {
	t.Helper()
	if got, ok := imageformat.Detect(data[:min(len(data), imageformat.SniffLen)]); !ok || got != want {
		t.Errorf("Detect = %q, %v; want %q", got, ok, want)
	}
}

func TestPNG(t *testing.T) {
	extra := []byte("#FAULT:timeout#")
	data := testimages.PNG(7, 40, 30, extra)
	detect(t, data, "png")
	if !bytes.HasSuffix(data, extra) {
		t.Error("extra bytes are not at the end")
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 40 || b.Dy() != 30 {
		t.Errorf("decoded size %v, want 40x30", b.Size())
	}
}

func TestJPEG(t *testing.T) {
	extra := []byte("#FAULT:500#")
	data := testimages.JPEG(7, 50, 20, extra)
	detect(t, data, "jpg")
	if !bytes.HasSuffix(data, extra) || !bytes.Contains(data, []byte{0xFF, 0xD9}) {
		t.Error("extra bytes are not after the EOI marker")
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("jpeg.Decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 50 || b.Dy() != 20 {
		t.Errorf("decoded size %v, want 50x20", b.Size())
	}
}

func TestSeedsAreDeterministicAndDistinct(t *testing.T) {
	gen := map[string]func(seed int64) []byte{
		"png":    func(s int64) []byte { return testimages.PNG(s, 16, 16, nil) },
		"jpg":    func(s int64) []byte { return testimages.JPEG(s, 16, 16, nil) },
		"tiff":   func(s int64) []byte { return testimages.TIFF(s, 2) },
		"pdf":    func(s int64) []byte { return testimages.PDF(2, s) },
		"bmp":    func(s int64) []byte { return testimages.BMP(s, 16, 16) },
		"gif":    func(s int64) []byte { return testimages.GIF(s, 16, 16, 2) },
		"webp":   func(s int64) []byte { return testimages.WebP(s, 16, 16) },
		"exif":   func(s int64) []byte { return testimages.RotatedJPEG(s, 16, 8, 6) },
		"scan":   func(s int64) []byte { return testimages.ScannedPDF(s, 2, 16, 16) },
		"objstm": func(s int64) []byte { return testimages.PDFObjectStreams(2, s) },
	}
	for name, g := range gen {
		if !bytes.Equal(g(1), g(1)) {
			t.Errorf("%s: same seed gave different bytes", name)
		}
		if bytes.Equal(g(1), g(2)) {
			t.Errorf("%s: seeds 1 and 2 gave the same bytes", name)
		}
	}
}

// TestTIFFStructure reads every IFD of a generated TIFF back: the baseline
// tags are there, sorted, and the strip they point to holds the pixels.
func TestTIFFStructure(t *testing.T) {
	const pages = 3
	data := testimages.TIFF(5, pages)
	detect(t, data, "tiff")
	le := binary.LittleEndian
	off := le.Uint32(data[4:])
	for page := 0; page < pages; page++ {
		if off == 0 || off%2 != 0 || int(off)+2 > len(data) {
			t.Fatalf("page %d: bad IFD offset %d", page, off)
		}
		n := int(le.Uint16(data[off:]))
		tags := map[uint16]uint32{}
		prev := uint16(0)
		for i := 0; i < n; i++ {
			e := data[int(off)+2+12*i:]
			tag, typ := le.Uint16(e), le.Uint16(e[2:])
			if tag <= prev {
				t.Errorf("page %d: tag %d after %d, want ascending", page, tag, prev)
			}
			prev = tag
			if typ == 3 {
				tags[tag] = uint32(le.Uint16(e[8:]))
			} else {
				tags[tag] = le.Uint32(e[8:])
			}
		}
		for _, required := range []uint16{256, 257, 258, 259, 262, 273, 278, 279, 282, 283, 296} {
			if _, ok := tags[required]; !ok {
				t.Errorf("page %d: baseline tag %d missing", page, required)
			}
		}
		w, h, strip, count := tags[256], tags[257], tags[273], tags[279]
		if w*h != count || int(strip+count) > len(data) || tags[259] != 1 {
			t.Errorf("page %d: %dx%d, strip %d+%d in %d bytes, compression %d", page, w, h, strip, count, len(data), tags[259])
		}
		if x := tags[282]; int(x)+8 > len(data) || le.Uint32(data[x:]) != 300 || le.Uint32(data[x+4:]) != 1 {
			t.Errorf("page %d: XResolution does not point at 300/1", page)
		}
		off = le.Uint32(data[int(off)+2+12*n:])
	}
	if off != 0 {
		t.Errorf("IFD chain continues past %d pages (next %d)", pages, off)
	}
}

// TestPDFStructure checks the xref table: every entry points at the start
// of its object, and startxref at the table.
func TestPDFStructure(t *testing.T) {
	data := testimages.PDF(3, 9)
	detect(t, data, "pdf")
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no startxref trailer at the end")
	}
	xrefAt, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(data[xrefAt:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xrefAt)
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n \n`).FindAllSubmatch(data[xrefAt:], -1)
	if len(entries) != 3+2*3 { // catalog, pages, font, and a page + content per page
		t.Fatalf("xref has %d objects, want %d", len(entries), 9)
	}
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(data[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %q, want %q", i+1, data[off:off+10], want)
		}
	}
	if n, err := imageformat.PageCount(bytes.NewReader(data), int64(len(data)), "pdf"); err != nil || n != 3 {
		t.Errorf("PageCount = %d, %v; want 3", n, err)
	}
}

func TestLarge(t *testing.T) {
	const size = 2 << 20
	for _, format := range []string{"png", "jpg", "tiff", "pdf"} {
		data := testimages.Large(format, size)
		if diff := len(data) - size; diff < -size/100 || diff > size/100 {
			t.Errorf("%s: %d bytes, want about %d", format, len(data), size)
		}
		detect(t, data, format)
		if n, err := imageformat.PageCount(bytes.NewReader(data), int64(len(data)), format); err != nil || n != 1 {
			t.Errorf("%s: PageCount = %d, %v; want 1", format, n, err)
		}
	}
	if _, err := png.Decode(bytes.NewReader(testimages.Large("png", size))); err != nil {
		t.Errorf("large PNG does not decode: %v", err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(testimages.Large("jpg", size))); err != nil {
		t.Errorf("large JPEG does not decode: %v", err)
	}
}

func TestWebP(t *testing.T) {
	data := testimages.WebP(3, 37, 21)
	detect(t, data, "webp")
	img, err := webp.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("webp.Decode: %v", err)
	}
	doc := testimages.Document(3, 37, 21)
	if img.Bounds() != doc.Bounds() {
		t.Fatalf("decoded %v, want %v", img.Bounds(), doc.Bounds())
	}
	for y := 0; y < 21; y++ {
		for x := 0; x < 37; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			want := uint32(doc.GrayAt(x, y).Y) * 0x101
			if r != want || g != want || b != want {
				t.Fatalf("pixel (%d,%d) = %d,%d,%d; want %d", x, y, r, g, b, want)
			}
		}
	}
	if bytes.Equal(data, testimages.WebP(4, 37, 21)) {
		t.Error("seeds 3 and 4 gave the same WebP")
	}
}
