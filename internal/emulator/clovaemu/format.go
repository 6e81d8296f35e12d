package clovaemu

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig for the page size of jpg answers
	_ "image/png"  // and of png answers
	"io"
	"regexp"
	"strconv"
)

// The emulator sniffs formats and counts pages with its own code, not the
// project's imageformat package: it plays the vendor, so a bug in the
// client-side detection must show up as a vendor rejection in tests rather
// than be shared by both sides.

// declaredFormats maps the format names the seed accepts ("jpg", "jpeg",
// "png", "pdf", "tiff"; the 2026 page adds "tif") to the container they
// name.
var declaredFormats = map[string]string{
	"jpg": "jpg", "jpeg": "jpg", "png": "png", "pdf": "pdf", "tif": "tiff", "tiff": "tiff",
}

// sniffFormat names the container the bytes really are, from their magic.
func sniffFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "jpg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "pdf"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	}
	return ""
}

// checkImage verifies that the image is what its declared format says and,
// for pdf and tiff, that it has a single page, as the seed requires. It
// returns a message for the 0011 answer (never the image content).
func checkImage(declared string, b []byte) error {
	want, ok := declaredFormats[declared]
	if !ok {
		return fmt.Errorf("images[0].format %q is not supported (jpg, jpeg, png, pdf, tif, tiff)", declared)
	}
	if len(b) == 0 {
		return fmt.Errorf("image is empty")
	}
	got := sniffFormat(b)
	if got != want {
		if got == "" {
			got = "unknown"
		}
		return fmt.Errorf("images[0].format is %q but the image is %s", declared, got)
	}
	var pages int
	var err error
	switch want {
	case "pdf":
		pages = pdfPages(b)
	case "tiff":
		pages, err = tiffPages(b)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if pages > 1 {
		return fmt.Errorf("%s has %d pages; only a single page is supported", want, pages)
	}
	return nil
}

var (
	pdfPageRe  = regexp.MustCompile(`/Type\s*/Page\b`)
	pdfCountRe = regexp.MustCompile(`/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b`)
	mediaBoxRe = regexp.MustCompile(`/MediaBox\s*\[\s*(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*\]`)
)

// pdfPages counts the pages of a PDF from its page-tree objects, also
// those inside Flate-compressed object streams (PDF 1.5, what most writers
// produce today). Where it still cannot tell it reports 1, so only PDFs
// whose pages it can see are refused.
func pdfPages(b []byte) int {
	count := pageTreeCount(b)
	for _, s := range objectStreams(b) {
		count = max(count, pageTreeCount(s))
	}
	return max(count, 1)
}

func pageTreeCount(b []byte) int {
	count := 0
	for _, m := range pdfCountRe.FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(append(m[1], m[2]...)))
		count = max(count, n)
	}
	// "/Type /Page" also matches "/Type /Pages" only when followed by a word
	// boundary, which "s" is not, so this counts leaf pages.
	return max(count, len(pdfPageRe.FindAll(b, -1)))
}

var objStmRe = regexp.MustCompile(`<<[^>]*/Type\s*/ObjStm\b[^>]*>>\s*stream\r?\n`)

// maxObjStm bounds what one object stream may inflate to.
const maxObjStm = 8 << 20

// objectStreams inflates the Flate-compressed object streams of a PDF.
func objectStreams(b []byte) [][]byte {
	var out [][]byte
	for _, loc := range objStmRe.FindAllIndex(b, -1) {
		if !bytes.Contains(b[loc[0]:loc[1]], []byte("/FlateDecode")) {
			continue
		}
		zr, err := zlib.NewReader(bytes.NewReader(b[loc[1]:]))
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(zr, maxObjStm)) // a stream cut short still shows what it holds
		zr.Close()
		out = append(out, data)
	}
	return out
}

// tiffPages walks a TIFF's IFD chain.
func tiffPages(b []byte) (int, error) {
	order, ok := tiffOrder(b)
	if !ok || len(b) < 8 {
		return 0, fmt.Errorf("tiff header is invalid")
	}
	off := int64(order.Uint32(b[4:8]))
	pages := 0
	for off != 0 {
		if off+2 > int64(len(b)) || pages > 1000 {
			return 0, fmt.Errorf("tiff directory is invalid")
		}
		n := int64(order.Uint16(b[off:]))
		next := off + 2 + 12*n
		if next+4 > int64(len(b)) {
			return 0, fmt.Errorf("tiff directory is invalid")
		}
		pages++
		off = int64(order.Uint32(b[next:]))
	}
	if pages == 0 {
		return 0, fmt.Errorf("tiff has no page")
	}
	return pages, nil
}

func tiffOrder(b []byte) (binary.ByteOrder, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("II*\x00")):
		return binary.LittleEndian, true
	case bytes.HasPrefix(b, []byte("MM\x00*")):
		return binary.BigEndian, true
	}
	return nil, false
}

// pageSize is the page's size in pixels, for convertedImageInfo and for
// laying out boxes. Where it cannot be read, an A4 page at 150 dpi.
func pageSize(format string, b []byte) (w, h int) {
	w, h = 1240, 1754
	switch format {
	case "jpg", "png":
		if c, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil && c.Width > 0 && c.Height > 0 {
			return c.Width, c.Height
		}
	case "pdf":
		if m := mediaBoxRe.FindSubmatch(b); m != nil {
			x0, _ := strconv.ParseFloat(string(m[1]), 64)
			y0, _ := strconv.ParseFloat(string(m[2]), 64)
			x1, _ := strconv.ParseFloat(string(m[3]), 64)
			y1, _ := strconv.ParseFloat(string(m[4]), 64)
			// CLOVA renders pdf pages to images; points at 150 dpi.
			if pw, ph := int((x1-x0)*150/72), int((y1-y0)*150/72); pw > 0 && ph > 0 {
				return pw, ph
			}
		}
	case "tiff":
		if tw, th, ok := tiffSize(b); ok {
			return tw, th
		}
	}
	return w, h
}

// tiffSize reads ImageWidth (256) and ImageLength (257) from the first IFD.
func tiffSize(b []byte) (w, h int, ok bool) {
	order, good := tiffOrder(b)
	if !good || len(b) < 8 {
		return 0, 0, false
	}
	off := int(order.Uint32(b[4:8]))
	if off+2 > len(b) {
		return 0, 0, false
	}
	n := int(order.Uint16(b[off:]))
	for i := 0; i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > len(b) {
			return 0, 0, false
		}
		tag, typ := order.Uint16(b[e:]), order.Uint16(b[e+2:])
		v := int(order.Uint32(b[e+8:]))
		if typ == 3 { // SHORT: the value sits in the first two bytes
			v = int(order.Uint16(b[e+8:]))
		}
		switch tag {
		case 256:
			w = v
		case 257:
			h = v
		}
	}
	return w, h, w > 0 && h > 0
}
