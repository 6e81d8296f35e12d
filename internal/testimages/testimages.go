// Package testimages generates real, small, deterministic images for tests
// and demo samples: the same seed gives the same bytes, different seeds give
// different bytes (and so different emulator content, which derives from
// the image's sha256).
//
// PNG, JPEG, GIF and BMP come from the Go encoders; TIFF, PDF and lossless
// WebP are written by hand, because Go has no encoder for them and
// multi-page files are needed to test page limits. pdfcpu.go has PDFs as a
// real PDF writer lays them out; testdata/ holds real WebP and HEIC files.
package testimages

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
)

// document draws a w×h grayscale "page": white paper with dark bars where
// text lines would be, placed by the seed.
func document(seed int64, w, h int) *image.Gray {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6f637262)) // "ocrb"
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xF0 + uint8(rng.IntN(16))
	}
	for y := 1 + rng.IntN(3); y < h-1; y += 3 + rng.IntN(4) {
		x0 := rng.IntN(max(1, w/4))
		x1 := x0 + 1 + rng.IntN(max(1, w-x0-1))
		for x := x0; x < x1 && x < w; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8(rng.IntN(64))})
		}
	}
	return img
}

// PNG encodes a w×h grayscale document image and appends extra after the
// IEND chunk (decoders stop at IEND, so the image stays valid).
func PNG(seed int64, w, h int, extra []byte) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, document(seed, w, h)); err != nil {
		panic(fmt.Sprintf("testimages: png encode: %v", err)) // in-memory encode of a valid image cannot fail
	}
	return append(buf.Bytes(), extra...)
}

// JPEG encodes a w×h document image and appends extra after the EOI marker.
func JPEG(seed int64, w, h int, extra []byte) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, document(seed, w, h), &jpeg.Options{Quality: 85}); err != nil {
		panic(fmt.Sprintf("testimages: jpeg encode: %v", err))
	}
	return append(buf.Bytes(), extra...)
}

// TIFF writes a baseline little-endian TIFF with the given number of pages,
// each a 32×32 8-bit grayscale uncompressed image.
func TIFF(seed int64, pages int) []byte { return tiff(seed, pages, 0) }

// PDF writes a minimal valid PDF 1.4 with the given number of pages, each
// with a line of text and a box placed by the seed, and a correct xref table.
func PDF(pages int, seed int64) []byte { return pdf(pages, seed, 0) }

// Large returns a valid image of format "png", "jpg", "tiff" or "pdf" padded
// with random bytes to about size bytes, for memory and throughput
// benchmarks. The padding sits where readers skip it: a private ancillary
// chunk (PNG), comment segments (JPEG), unreferenced bytes (TIFF) or an
// unreferenced stream object (PDF).
func Large(format string, size int) []byte {
	const seed = 1
	switch format {
	case "png":
		base := PNG(seed, 64, 64, nil)
		iend := len(base) - 12 // the IEND chunk: length, type, CRC
		pad := chunk("ocPd", randomBytes(max(0, size-len(base)-12)))
		return append(append(append([]byte{}, base[:iend]...), pad...), base[iend:]...)
	case "jpg", "jpeg":
		base := JPEG(seed, 64, 64, nil)
		out := append([]byte{}, base[:2]...) // SOI
		for rest := size - len(base); rest > 4; {
			n := min(rest-4, 0xFFFF-2)
			out = append(out, 0xFF, 0xFE, byte((n+2)>>8), byte(n+2)) // COM segment
			out = append(out, randomBytes(n)...)
			rest -= n + 4
		}
		return append(out, base[2:]...)
	case "tiff":
		return tiff(seed, 1, max(0, size-len(tiff(seed, 1, 0))))
	case "pdf":
		return pdf(1, seed, max(0, size-len(pdf(1, seed, 0))-64))
	}
	panic(fmt.Sprintf("testimages: Large: unknown format %q", format))
}

// chunk frames a PNG chunk: length, type, data, CRC of type and data.
func chunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 0x706164)) // "pad"
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}
