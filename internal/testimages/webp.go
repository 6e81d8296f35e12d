package testimages

import (
	"encoding/binary"
	"image"
)

// WebP encodes a w×h document image (Document(seed, w, h)) as a lossless
// (VP8L) WebP. The bitstream is the simplest valid one (no transforms, no
// back-references, fixed 8-bit codes); decoders read it like any other
// VP8L file. For lossy WebP as libwebp writes it, see WebPLossy.
func WebP(seed int64, w, h int) []byte { return webpLossless8(document(seed, w, h)) }

// bitWriter writes VP8L's little-endian bit stream.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (b *bitWriter) bits(v uint64, n uint) {
	b.acc |= v << b.nacc
	b.nacc += n
	for b.nacc >= 8 {
		b.out = append(b.out, byte(b.acc))
		b.acc >>= 8
		b.nacc -= 8
	}
}

// code writes a prefix code, most significant bit first.
func (b *bitWriter) code(c uint64, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		b.bits(c>>uint(i)&1, 1)
	}
}

func (b *bitWriter) flush() []byte {
	if b.nacc > 0 {
		b.out = append(b.out, byte(b.acc))
	}
	return b.out
}

// eightBitCode writes a normal prefix code in which the first 256 symbols
// of an alphabet of size n have length 8 and the rest length 0: symbol s
// then has the code s.
func (b *bitWriter) eightBitCode(n int) {
	b.bits(0, 1) // normal code
	// Code lengths are themselves coded: the code-length symbols 0 and 8,
	// one bit each (0 -> "0", 8 -> "1"). The order of their lengths is
	// 17 18 0 1 2 3 4 5 16 6 7 8: twelve entries, 8 last.
	b.bits(12-4, 4)
	for _, sym := range []int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8} {
		l := uint64(0)
		if sym == 0 || sym == 8 {
			l = 1
		}
		b.bits(l, 3)
	}
	b.bits(0, 1) // all n code lengths follow
	for s := range n {
		if s < 256 {
			b.code(1, 1) // length 8
		} else {
			b.code(0, 1) // length 0
		}
	}
}

// oneSymbol writes a simple prefix code of one symbol (coded in 0 bits).
func (b *bitWriter) oneSymbol(sym uint64) {
	b.bits(1, 1) // simple
	b.bits(0, 1) // one symbol
	b.bits(1, 1) // in 8 bits
	b.bits(sym, 8)
}

func webpLossless8(img *image.Gray) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	var b bitWriter
	b.bits(0x2f, 8) // VP8L signature
	b.bits(uint64(w-1), 14)
	b.bits(uint64(h-1), 14)
	b.bits(0, 1)             // no alpha
	b.bits(0, 3)             // version 0
	b.bits(0, 1)             // no transform
	b.bits(0, 1)             // no color cache
	b.bits(0, 1)             // no meta prefix codes
	b.eightBitCode(256 + 24) // green: literals and back-reference lengths
	b.eightBitCode(256)      // red
	b.eightBitCode(256)      // blue
	b.oneSymbol(255)         // alpha: opaque
	b.oneSymbol(0)           // distance: unused
	for y := range h {
		for x := range w {
			g := uint64(img.Pix[y*img.Stride+x])
			b.code(g, 8) // green
			b.code(g, 8) // red
			b.code(g, 8) // blue
		}
	}
	data := b.flush()
	le := binary.LittleEndian
	out := []byte("RIFF")
	out = le.AppendUint32(out, uint32(4+8+len(data)+len(data)%2))
	out = append(out, "WEBPVP8L"...)
	out = le.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}
