package pages

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

var (
	clova = []string{"jpg", "png", "pdf", "tiff"}
	nhn   = []string{"jpg", "png"}
)

func bytesImage(format string, data []byte) Image {
	return readerImage(format, bytes.NewReader(data), int64(len(data)))
}

func prepare(t *testing.T, c *Converter, format string, data []byte, accepted []string) *Prepared {
	t.Helper()
	if c.TempDir == "" {
		c.TempDir = t.TempDir()
	}
	p, err := c.Prepare(context.Background(), bytesImage(format, data), accepted)
	if err != nil {
		t.Fatalf("Prepare(%s): %v", format, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// decodeSent decodes what would be sent, checking its format is accepted
// and its bytes are what Detect says.
func decodeSent(t *testing.T, p *Prepared, accepted []string) image.Image {
	t.Helper()
	data := readAll(t, p.Image)
	if got, _ := imageformat.Detect(data[:min(len(data), imageformat.SniffLen)]); got != p.Format {
		t.Fatalf("sent bytes are %q, Format says %q", got, p.Format)
	}
	if !strings.Contains(strings.Join(accepted, ","), p.Format) {
		t.Fatalf("sent %s; the vendor takes %v", p.Format, accepted)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("sent %s does not decode: %v", p.Format, err)
	}
	return img
}

// meanDiff is the mean absolute difference of luma, 0-255, or 255 when the
// sizes differ.
func meanDiff(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 255
	}
	var sum float64
	w, h := a.Bounds().Dx(), a.Bounds().Dy()
	for y := range h {
		for x := range w {
			ya := lumaAt(a, x, y)
			yb := lumaAt(b, x, y)
			sum += max(ya-yb, yb-ya)
		}
	}
	return sum / float64(w*h)
}

func lumaAt(img image.Image, x, y int) float64 {
	b := img.Bounds()
	r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
	return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
}

func TestPreparePassesAcceptedImagesThrough(t *testing.T) {
	budget := NewBudget(1 << 30)
	budget.acquired = func(int64) { t.Error("a pass-through image was decoded") }
	c := &Converter{Budget: budget}
	for format, data := range map[string][]byte{
		"png":  testimages.PNG(1, 20, 10, nil),
		"jpg":  testimages.JPEG(1, 20, 10, nil),
		"tiff": testimages.TIFF(1, 1),
		"pdf":  testimages.PDF(1, 1),
	} {
		img := bytesImage(format, data)
		p, err := c.Prepare(context.Background(), img, clova)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if p.Converted || p.Format != format || !bytes.Equal(readAll(t, p.Image), data) {
			t.Errorf("%s: not passed through as it is (converted %v, format %s)", format, p.Converted, p.Format)
		}
	}
	// Upright EXIF (orientation 1) needs no rotation either.
	data := testimages.RotatedJPEG(2, 20, 10, 1)
	if p := prepare(t, c, "jpg", data, nhn); p.Converted {
		t.Error("a JPEG with EXIF orientation 1 was converted")
	}
}

func TestJPEGOrientation(t *testing.T) {
	for o := 1; o <= 8; o++ {
		if got := JPEGOrientation(bytes.NewReader(testimages.RotatedJPEG(1, 16, 8, o))); got != o {
			t.Errorf("orientation %d read as %d", o, got)
		}
	}
	for name, data := range map[string][]byte{
		"no exif":   testimages.JPEG(1, 8, 8, nil),
		"not jpeg":  testimages.PNG(1, 8, 8, nil),
		"truncated": testimages.RotatedJPEG(1, 16, 8, 6)[:10],
		"empty":     nil,
	} {
		if got := JPEGOrientation(bytes.NewReader(data)); got != 1 {
			t.Errorf("%s: orientation %d, want 1", name, got)
		}
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add(testimages.RotatedJPEG(1, 8, 8, 6)[:200])
	f.Add(testimages.JPEG(1, 8, 8, nil)[:64])
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := JPEGOrientation(bytes.NewReader(data)); o < 1 || o > 8 {
			t.Fatalf("orientation %d out of 1-8", o)
		}
	})
}

func TestPrepareRotatesByEXIF(t *testing.T) {
	const w, h = 64, 40
	upright := testimages.Document(3, w, h)
	for o := 2; o <= 8; o++ {
		data := testimages.RotatedJPEG(3, w, h, o)
		stored, _ := jpeg.Decode(bytes.NewReader(data))
		p := prepare(t, &Converter{}, "jpg", data, nhn)
		if !p.Converted || p.Format != "jpg" {
			t.Fatalf("orientation %d: converted %v, format %s; want a rotated JPEG", o, p.Converted, p.Format)
		}
		sent := decodeSent(t, p, nhn)
		if d := meanDiff(sent, upright); d > 4 {
			t.Errorf("orientation %d: sent image differs from the upright page by %.1f", o, d)
		}
		if d := meanDiff(stored, upright); o != 2 && o != 4 && d < 4 { // the control: unrotated is wrong
			t.Errorf("orientation %d: the stored image already looks upright (%.1f)", o, d)
		}
	}
}

func TestPrepareConvertsFormats(t *testing.T) {
	doc := testimages.Document(5, 48, 32)
	webpLossy := testimages.WebPLossy()
	webpRef, _ := webp.Decode(bytes.NewReader(webpLossy))
	webpLossless, _ := webp.Decode(bytes.NewReader(testimages.WebPLossless()))
	tiffPage, _ := tiff.Decode(bytes.NewReader(testimages.TIFF(5, 1)))
	tests := []struct {
		name, format string
		data         []byte
		accepted     []string
		wantFormat   string
		want         image.Image
		maxDiff      float64
	}{
		{"bmp", "bmp", testimages.BMP(5, 48, 32), nhn, "png", doc, 0},
		{"gif first frame", "gif", testimages.GIF(5, 48, 32, 3), nhn, "png", doc, 0},
		{"lossy webp", "webp", webpLossy, nhn, "jpg", webpRef, 3},
		{"lossless webp", "webp", testimages.WebPLossless(), clova, "png", webpLossless, 0},
		{"generated webp", "webp", testimages.WebP(5, 48, 32), nhn, "png", doc, 0},
		{"tiff for nhn", "tiff", testimages.TIFF(5, 1), nhn, "png", tiffPage, 0},
		{"lossy webp, png only", "webp", webpLossy, []string{"png"}, "png", webpRef, 0},
	}
	for _, tt := range tests {
		p := prepare(t, &Converter{}, tt.format, tt.data, tt.accepted)
		if !p.Converted || p.Format != tt.wantFormat {
			t.Errorf("%s: converted %v to %s; want %s", tt.name, p.Converted, p.Format, tt.wantFormat)
			continue
		}
		if d := meanDiff(decodeSent(t, p, tt.accepted), tt.want); d > tt.maxDiff {
			t.Errorf("%s: sent image differs from the source by %.2f", tt.name, d)
		}
	}
	// The GIF's other frames are not what is sent.
	all, _ := gif.DecodeAll(bytes.NewReader(testimages.GIF(5, 48, 32, 3)))
	p := prepare(t, &Converter{}, "gif", testimages.GIF(5, 48, 32, 3), nhn)
	if d := meanDiff(decodeSent(t, p, nhn), all.Image[1]); d == 0 {
		t.Error("gif: frame 2 was sent")
	}
}

func TestPrepareUnsupported(t *testing.T) {
	tests := []struct {
		name, format string
		data         []byte
		accepted     []string
		why          string
	}{
		{"avif", "avif", []byte("\x00\x00\x00\x1cftypavif"), clova, "AVIF"},
		{"no png or jpg", "bmp", testimages.BMP(1, 8, 8), []string{"pdf"}, "neither png nor jpg"},
		{"text pdf for nhn", "pdf", testimages.PDF(1, 1), nhn, "text"},
		{"encrypted pdf for nhn", "pdf", testimages.EncryptedPDF(1, 1, "", "owner"), nhn, "encrypted"},
	}
	if _, built := codecs["heic"]; !built {
		tests = append(tests, struct {
			name, format string
			data         []byte
			accepted     []string
			why          string
		}{"heic", "heic", testimages.HEIC(), nhn, "HEIC support not built in"})
	}
	for _, tt := range tests {
		_, err := (&Converter{TempDir: t.TempDir()}).Prepare(context.Background(), bytesImage(tt.format, tt.data), tt.accepted)
		e, ok := ocrerr.As(err)
		if !ok || e.Code != ocrerr.UnsupportedFormat || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("%s: error %v; want unsupported_format saying %q", tt.name, err, tt.why)
		}
	}
}

func TestPrepareScannedPDFPage(t *testing.T) {
	const w, h = 60, 90
	data := testimages.ScannedPDF(7, 1, w, h)
	p := prepare(t, &Converter{}, "pdf", data, nhn)
	if !p.Converted || p.Format != "jpg" {
		t.Fatalf("converted %v to %s; want the page's JPEG", p.Converted, p.Format)
	}
	if got := readAll(t, p.Image); !bytes.Equal(got, testimages.JPEG(7, w, h, nil)) {
		t.Error("the sent JPEG is not the one embedded in the page")
	}

	// A page shown rotated by /Rotate is sent as a viewer shows it.
	var rotated bytes.Buffer
	conf := model.NewDefaultConfiguration()
	if err := api.Rotate(bytes.NewReader(data), &rotated, 90, nil, conf); err != nil {
		t.Fatal(err)
	}
	p = prepare(t, &Converter{}, "pdf", rotated.Bytes(), nhn)
	sent := decodeSent(t, p, nhn)
	if sent.Bounds().Dx() != h || sent.Bounds().Dy() != w {
		t.Errorf("page with /Rotate 90: sent %v, want %dx%d", sent.Bounds().Size(), h, w)
	}
	if d := meanDiff(sent, orient(testimages.Document(7, w, h), 6)); d > 4 {
		t.Errorf("page with /Rotate 90: differs from the rotated scan by %.1f", d)
	}
}

// pngBomb is a valid PNG header claiming w×h pixels with almost no data:
// decoding it would allocate w*h*4 bytes.
func pngBomb(w, h uint32) []byte {
	out := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		start := len(out)
		out = append(out, typ...)
		out = append(out, data...)
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	chunk("IHDR", append(ihdr, 8, 6, 0, 0, 0)) // 8-bit RGBA
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return out
}

// bmpBomb is a 24-bit BMP header claiming w×h pixels.
func bmpBomb(w, h int32) []byte {
	le := binary.LittleEndian
	out := []byte("BM")
	out = le.AppendUint32(out, 54)
	out = le.AppendUint32(out, 0)
	out = le.AppendUint32(out, 54)
	out = le.AppendUint32(out, 40)
	out = le.AppendUint32(out, uint32(w))
	out = le.AppendUint32(out, uint32(h))
	out = le.AppendUint16(out, 1)
	out = le.AppendUint16(out, 24)
	return append(out, make([]byte, 24)...)
}

func TestPrepareRefusesDecompressionBombs(t *testing.T) {
	c := &Converter{MaxPixels: 100_000_000, Budget: NewBudget(512 << 20), TempDir: t.TempDir()}
	for _, tt := range []struct {
		format   string
		data     []byte
		accepted []string
	}{
		{"png", pngBomb(60000, 60000), []string{"jpg"}},
		{"bmp", bmpBomb(30000, 30000), nhn},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := c.Prepare(context.Background(), bytesImage(tt.format, tt.data), tt.accepted)
		runtime.ReadMemStats(&after)
		e, ok := ocrerr.As(err)
		if !ok || e.Code != ocrerr.TooLarge || !strings.Contains(err.Error(), "megapixels") {
			t.Errorf("%s bomb: error %v; want too_large", tt.format, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("%s bomb: %d bytes allocated before refusing", tt.format, alloc)
		}
	}
}

func TestBudgetSerializesConversionsOverIt(t *testing.T) {
	const w, h = 400, 300
	weight := int64(4 * w * h)
	for _, tt := range []struct {
		budget      int64
		wantOverlap int32
	}{
		{weight + weight/2, 1}, // room for one: the second waits
		{2 * weight, 2},        // the control: room for both, they overlap
	} {
		budget := NewBudget(tt.budget)
		var holding, most atomic.Int32
		budget.acquired = func(int64) {
			n := holding.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(150 * time.Millisecond) // hold long enough for the other to try
		}
		budget.released = func(int64) { holding.Add(-1) }
		c := &Converter{Budget: budget, TempDir: t.TempDir()}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for i := range 2 {
			wg.Go(func() {
				_, err := c.Prepare(context.Background(), bytesImage("bmp", testimages.BMP(int64(i), w, h)), nhn)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := most.Load(); got != tt.wantOverlap {
			t.Errorf("budget %d for two images of %d: %d conversions at once, want %d", tt.budget, weight, got, tt.wantOverlap)
		}
	}
}

func TestBudgetWaitEndsWithContext(t *testing.T) {
	budget := NewBudget(1 << 20)
	hold, err := budget.Acquire(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := &Converter{Budget: budget, TempDir: t.TempDir()}
	if _, err := c.Prepare(ctx, bytesImage("bmp", testimages.BMP(1, 16, 16)), nhn); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Prepare while the budget is held: %v; want the context's deadline", err)
	}
	// A weight over the whole budget waits for all of it instead of forever.
	hold()
	release, err := budget.Acquire(context.Background(), 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestPreparedCloseRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	p, err := (&Converter{TempDir: dir}).Prepare(context.Background(), bytesImage("bmp", testimages.BMP(1, 8, 8)), nhn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := p.Open(context.Background()); err == nil {
		t.Error("converted file still there after Close")
	}
}

func TestPrepareUnsupportedFeatureOrBroken(t *testing.T) {
	// A TIFF page compressed with JPEG (compression 7), which
	// golang.org/x/image/tiff does not decode: valid, but not convertible.
	data := testimages.TIFF(1, 1)
	_, ifds, _ := imageformat.TIFFDirectories(bytes.NewReader(data), int64(len(data)))
	for e := ifds[0] + 2; ; e += 12 {
		if binary.LittleEndian.Uint16(data[e:]) == 259 {
			binary.LittleEndian.PutUint16(data[e+8:], 7)
			break
		}
	}
	_, err := (&Converter{TempDir: t.TempDir()}).Prepare(context.Background(), bytesImage("tiff", data), nhn)
	wantCode(t, err, ocrerr.UnsupportedFormat)

	// Bytes that only start like a BMP are broken, not unsupported.
	_, err = (&Converter{TempDir: t.TempDir()}).Prepare(context.Background(), bytesImage("bmp", testimages.BMP(1, 16, 16)[:40]), nhn)
	wantCode(t, err, ocrerr.InvalidImage)
}

func TestPrepareReadsOrientationFromHead(t *testing.T) {
	data := testimages.RotatedJPEG(4, 32, 16, 6)
	opened := 0
	img := bytesImage("jpg", data)
	open := img.Open
	img.Open = func(ctx context.Context) (io.ReadCloser, error) { opened++; return open(ctx) }

	img.Head = data[:min(len(data), 64<<10)]
	p, err := (&Converter{TempDir: t.TempDir()}).Prepare(context.Background(), img, nhn)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !p.Converted {
		t.Error("EXIF 6 in the head was not seen")
	}
	if opened != 2 { // header and decode; no extra read for the orientation
		t.Errorf("image opened %d times, want 2", opened)
	}

	// A head that stops inside the segments is not trusted: the image is read.
	opened = 0
	img.Head = data[:10]
	p2, err := (&Converter{TempDir: t.TempDir()}).Prepare(context.Background(), img, nhn)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if !p2.Converted || opened != 3 {
		t.Errorf("short head: converted %v, opened %d times; want true, 3", p2.Converted, opened)
	}
	// An upright JPEG with a complete head is passed through without a read.
	opened = 0
	upright := testimages.JPEG(4, 32, 16, nil)
	img = bytesImage("jpg", upright)
	img.Head = upright
	openUpright := img.Open
	img.Open = func(ctx context.Context) (io.ReadCloser, error) { opened++; return openUpright(ctx) }
	if p3, err := (&Converter{}).Prepare(context.Background(), img, nhn); err != nil || p3.Converted || opened != 0 {
		t.Errorf("upright JPEG with head: %v, converted %v, opened %d", err, p3 != nil && p3.Converted, opened)
	}
}

func TestPreparePDFPageKinds(t *testing.T) {
	const w, h = 48, 64
	c := &Converter{MaxPixels: 100_000_000}
	// An invisible OCR text layer over the scan: still a scan.
	p := prepare(t, c, "pdf", testimages.ScanWithText(2, w, h, false), nhn)
	if p.Format != "jpg" || !bytes.Equal(readAll(t, p.Image), testimages.JPEG(2, w, h, nil)) {
		t.Errorf("scan with an invisible text layer: sent %s, not its JPEG", p.Format)
	}
	// Visible text over it: only a renderer could draw the page.
	_, err := c.Prepare(context.Background(), bytesImage("pdf", testimages.ScanWithText(2, w, h, true)), nhn)
	wantCode(t, err, ocrerr.UnsupportedFormat)
	if !strings.Contains(err.Error(), "text") {
		t.Errorf("visible text: %v does not say why", err)
	}

	// A Flate (PNG-sourced) scan is rendered by pdfcpu and sent as PNG.
	p = prepare(t, c, "pdf", testimages.ScannedPDFOf(testimages.PNG(3, w, h, nil)), nhn)
	if d := meanDiff(decodeSent(t, p, nhn), testimages.Document(3, w, h)); p.Format != "png" || d != 0 {
		t.Errorf("flate scan: sent %s differing by %.2f; want the exact PNG pixels", p.Format, d)
	}

	// A scan over the pixel limit is refused before its image is extracted.
	_, err = (&Converter{MaxPixels: w*h - 1, TempDir: t.TempDir()}).Prepare(context.Background(), bytesImage("pdf", testimages.ScannedPDF(1, 1, w, h)), nhn)
	wantCode(t, err, ocrerr.TooLarge)
}

func TestPrepareChargesDecodedSize(t *testing.T) {
	var deep bytes.Buffer
	png.Encode(&deep, image.NewNRGBA64(image.Rect(0, 0, 30, 20))) // 16 bits a channel
	for _, tt := range []struct {
		name, format string
		data         []byte
		accepted     []string
		want         int64
	}{
		{"8-bit bmp", "bmp", testimages.BMP(1, 30, 20), nhn, 4 * 600},
		{"16-bit png", "png", deep.Bytes(), []string{"jpg"}, 8 * 600},
		{"rotated jpeg", "jpg", testimages.RotatedJPEG(1, 30, 20, 8), nhn, (4 + 4) * 600},
	} {
		budget := NewBudget(1 << 30)
		var charged int64
		budget.acquired = func(w int64) { charged = w }
		prepare(t, &Converter{Budget: budget}, tt.format, tt.data, tt.accepted)
		if charged != tt.want {
			t.Errorf("%s: charged %d bytes to the budget, want %d", tt.name, charged, tt.want)
		}
	}
}

func TestPreparePDFPageFromSourceNeedsNoCopy(t *testing.T) {
	dir := t.TempDir()
	budget := NewBudget(1 << 30)
	copies := 0
	budget.acquired = func(int64) { // while the page's image is extracted
		matches, _ := filepath.Glob(filepath.Join(dir, "pdf-page-*"))
		copies += len(matches)
	}
	prepare(t, &Converter{Budget: budget, TempDir: dir}, "pdf", testimages.ScannedPDF(2, 1, 20, 30), nhn)
	if copies != 0 {
		t.Errorf("a seekable page was copied to a temp file %d times", copies)
	}
}
