package imageformat_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name   string
		head   string
		want   string
		wantOK bool
	}{
		{"jpeg jfif", "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", "jpg", true},
		{"jpeg exif", "\xFF\xD8\xFF\xE1\x12\x34Exif\x00\x00", "jpg", true},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png", true},
		{"pdf", "%PDF-1.7\n%\xE2\xE3\xCF\xD3", "pdf", true},
		{"tiff little-endian", "II*\x00\x08\x00\x00\x00", "tiff", true},
		{"tiff big-endian", "MM\x00*\x00\x00\x00\x08", "tiff", true},
		{"gif89a", "GIF89a\x01\x00\x01\x00", "gif", true},
		{"gif87a", "GIF87a\x01\x00\x01\x00", "gif", true},
		{"webp", "RIFF\x24\x00\x00\x00WEBPVP8 ", "webp", true},
		{"bmp", "BM\x36\x00\x0C\x00\x00\x00\x00\x00\x36\x00\x00\x00", "bmp", true},
		{"heic", "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "heic", true},
		{"heif mif1", "\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00", "heic", true},
		{"avif", "\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "avif", true},
		{"mp4 is not an image", "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "", false},
		{"riff wave is not webp", "RIFF\x24\x00\x00\x00WAVEfmt ", "", false},
		{"text starting with BM", "BMW owners club: newsletter", "", false},
		{"BigTIFF is not classic tiff", "II+\x00\x08\x00\x00\x00", "", false},
		{"truncated jpeg magic", "\xFF\xD8", "", false},
		{"json", `{"uri":"s3://b/k"}`, "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		got, ok := imageformat.Detect([]byte(tt.head))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: Detect = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func pageCount(data []byte, format string) (int, error) {
	return imageformat.PageCount(bytes.NewReader(data), int64(len(data)), format)
}

// TestPageCountPDF counts PDFs as real producers write them; each case
// has a known answer by construction.
func TestPageCountPDF(t *testing.T) {
	tests := []struct {
		name string
		pdf  []byte
		want int
	}{
		{"classic xref table", testimages.PDF(3, 1), 3},
		{"page tree in a compressed object stream", testimages.PDFObjectStreams(3, 2), 3},
		{"one page, object streams", testimages.PDFObjectStreams(1, 3), 1},
		{"incremental update removed a page", testimages.PDFRemovedPage(3, 4), 2},
		{"scanned: one image per page", testimages.ScannedPDF(5, 4, 40, 60), 4},
		{"many pages", testimages.PDFObjectStreams(120, 6), 120},
	}
	for _, tt := range tests {
		got, err := pageCount(tt.pdf, "pdf")
		if err != nil || got != tt.want {
			t.Errorf("%s: PageCount = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}

func TestPageCountPDFEncrypted(t *testing.T) {
	for name, data := range map[string][]byte{
		"user password":       testimages.EncryptedPDF(2, 1, "secret", "owner"),
		"owner password only": testimages.EncryptedPDF(2, 1, "", "owner"),
	} {
		if n, err := pageCount(data, "pdf"); !errors.Is(err, imageformat.ErrEncrypted) {
			t.Errorf("%s: PageCount = %d, %v; want ErrEncrypted", name, n, err)
		}
	}
}

func TestPageCountPDFCorrupt(t *testing.T) {
	for name, data := range map[string][]byte{
		"truncated stream": []byte("%PDF-1.4\n1 0 obj << >> stream\n\x00\x01endstrea"),
		"header only":      []byte("%PDF-1.7\n"),
		"no page tree":     []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
	} {
		if n, err := pageCount(data, "pdf"); !errors.Is(err, imageformat.ErrCorrupt) {
			t.Errorf("%s: PageCount = %d, %v; want ErrCorrupt", name, n, err)
		}
	}
}

func TestPageCountGenerated(t *testing.T) {
	for _, pages := range []int{1, 2, 7} {
		if got, err := pageCount(testimages.PDF(pages, 3), "pdf"); err != nil || got != pages {
			t.Errorf("PDF with %d pages: PageCount = %d, %v", pages, got, err)
		}
		if got, err := pageCount(testimages.TIFF(3, pages), "tiff"); err != nil || got != pages {
			t.Errorf("TIFF with %d pages: PageCount = %d, %v", pages, got, err)
		}
	}
	if got, err := pageCount(testimages.PNG(1, 8, 8, nil), "png"); err != nil || got != 1 {
		t.Errorf("PNG: PageCount = %d, %v; want 1", got, err)
	}
	if _, err := pageCount([]byte("whatever"), "svg"); err == nil {
		t.Error("PageCount of an unknown format: want an error")
	}
}

// bigEndianTIFF builds an MM TIFF whose IFDs sit at the given offsets and
// link to each other in order; next overrides the last IFD's link.
func bigEndianTIFF(size int, ifds []uint32, last uint32) []byte {
	be := binary.BigEndian
	data := make([]byte, size)
	copy(data, "MM\x00*")
	be.PutUint32(data[4:], ifds[0])
	for i, off := range ifds {
		be.PutUint16(data[off:], 1) // one entry
		next := last
		if i+1 < len(ifds) {
			next = ifds[i+1]
		}
		be.PutUint32(data[off+2+12:], next)
	}
	return data
}

func TestPageCountTIFF(t *testing.T) {
	if got, err := pageCount(bigEndianTIFF(200, []uint32{8, 40, 100}, 0), "tiff"); err != nil || got != 3 {
		t.Errorf("3-page big-endian TIFF: PageCount = %d, %v", got, err)
	}
	corrupt := map[string][]byte{
		"loop":             bigEndianTIFF(200, []uint32{8, 40}, 8),
		"offset past end":  bigEndianTIFF(200, []uint32{8}, 4000),
		"ifd past end":     bigEndianTIFF(26, []uint32{8}, 0)[:25],
		"offset in header": bigEndianTIFF(200, []uint32{8}, 2),
		"truncated header": []byte("II*\x00\x08"),
		"no ifd":           []byte("II*\x00\x00\x00\x00\x00"),
		"wrong magic":      []byte("II+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
	}
	for name, data := range corrupt {
		if n, err := pageCount(data, "tiff"); !errors.Is(err, imageformat.ErrCorrupt) {
			t.Errorf("%s: PageCount = %d, %v; want ErrCorrupt", name, n, err)
		}
	}
}

func FuzzDetect(f *testing.F) {
	f.Add(testimages.PNG(1, 4, 4, nil)[:imageformat.SniffLen])
	f.Add(testimages.JPEG(1, 4, 4, nil)[:imageformat.SniffLen])
	f.Add([]byte("%PDF-1.4\n"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Add([]byte("\x00\x00\x00\x18ftypheic"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBP"))
	f.Fuzz(func(t *testing.T, head []byte) {
		format, ok := imageformat.Detect(head)
		if ok == (format == "") {
			t.Fatalf("Detect(%q) = %q, %v: a name exactly when ok", head, format, ok)
		}
		// Detection looks at SniffLen bytes at most: more data cannot change it.
		if len(head) >= imageformat.SniffLen {
			if again, _ := imageformat.Detect(append(head[:imageformat.SniffLen:imageformat.SniffLen], "tail"...)); again != format {
				t.Fatalf("Detect depends on bytes past SniffLen: %q vs %q", format, again)
			}
		}
	})
}

func FuzzPageCount(f *testing.F) {
	f.Add(testimages.PDF(2, 1), true)
	f.Add(testimages.TIFF(1, 3), false)
	f.Add(testimages.PDFObjectStreams(2, 1), true)
	f.Add(bigEndianTIFF(64, []uint32{8, 30}, 8), false)
	f.Fuzz(func(t *testing.T, data []byte, isPDF bool) {
		format := "tiff"
		if isPDF {
			format = "pdf"
		}
		n, err := pageCount(data, format)
		if err == nil && n < 1 {
			t.Fatalf("PageCount = %d with no error", n)
		}
		if err == nil && !isPDF && n > imageformat.MaxTIFFPages {
			t.Fatalf("TIFF PageCount = %d, over the bound", n)
		}
	})
}
