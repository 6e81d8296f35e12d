package vendortest

import (
	"bytes"
	"image"
	"image/png"
)

// PNG encodes a small, real 16x16 PNG whose pixels follow from seed, then
// appends extra after the IEND chunk. Image decoders ignore trailing bytes,
// while the emulators find fault markers (emulator.MarkerFailure, ...)
// anywhere in the bytes; different seeds give different images and so
// different emulator.Derive documents.
func PNG(seed int, extra []byte) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	x := uint32(seed)*2654435761 + 1
	for i := 0; i < len(img.Pix); i += 4 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(x), byte(x>>8), byte(x>>16), 0xff
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	buf.Write(extra)
	return buf.Bytes()
}
