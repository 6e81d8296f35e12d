package testimages

import (
	"bytes"
	_ "embed" // real WebP and HEIC files, see testdata/README.md
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"math/rand/v2"

	"golang.org/x/image/bmp"
)

// Document is the upright w×h page that PNG, JPEG, BMP, GIF and
// RotatedJPEG encode for a seed, for tests that compare pixels.
func Document(seed int64, w, h int) *image.Gray { return document(seed, w, h) }

// BMP encodes a w×h document image as an 8-bit BMP, as old scanners write.
func BMP(seed int64, w, h int) []byte {
	var buf bytes.Buffer
	if err := bmp.Encode(&buf, document(seed, w, h)); err != nil {
		panic(fmt.Sprintf("testimages: bmp encode: %v", err))
	}
	return buf.Bytes()
}

// GIF encodes frames w×h document images (seed, seed+1, ...) as one GIF;
// its first frame is Document(seed, w, h).
func GIF(seed int64, w, h, frames int) []byte {
	palette := make(color.Palette, 256)
	for i := range palette {
		palette[i] = color.Gray{Y: uint8(i)}
	}
	anim := &gif.GIF{}
	for f := range frames {
		doc := document(seed+int64(f), w, h)
		frame := image.NewPaletted(doc.Rect, palette)
		copy(frame.Pix, doc.Pix) // gray level i is palette index i
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, 100)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		panic(fmt.Sprintf("testimages: gif encode: %v", err))
	}
	return buf.Bytes()
}

// RotatedJPEG is a phone photo held sideways: a JPEG whose stored pixels
// show Document(seed, w, h) only once its EXIF orientation (1-8) is
// applied. Orientations 5-8 store an h×w image.
func RotatedJPEG(seed int64, w, h, orientation int) []byte {
	upright := document(seed, w, h)
	sw, sh := w, h
	if orientation >= 5 {
		sw, sh = h, w
	}
	stored := image.NewGray(image.Rect(0, 0, sw, sh))
	for sy := range sh {
		for sx := range sw {
			dx, dy := displayed(orientation, sx, sy, sw, sh)
			stored.Pix[sy*stored.Stride+sx] = upright.Pix[dy*upright.Stride+dx]
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, stored, &jpeg.Options{Quality: 95}); err != nil {
		panic(fmt.Sprintf("testimages: jpeg encode: %v", err))
	}
	data := buf.Bytes()
	return append(append(append([]byte{}, data[:2]...), exifOrientation(orientation)...), data[2:]...)
}

// displayed is where a stored pixel (x, y) of a W×H image shows once
// EXIF orientation o is applied (EXIF 2.32, tag 0x0112).
func displayed(o, x, y, W, H int) (int, int) {
	switch o {
	case 2:
		return W - 1 - x, y
	case 3:
		return W - 1 - x, H - 1 - y
	case 4:
		return x, H - 1 - y
	case 5:
		return y, x
	case 6:
		return H - 1 - y, x
	case 7:
		return H - 1 - y, W - 1 - x
	case 8:
		return y, W - 1 - x
	}
	return x, y
}

// exifOrientation is a JPEG APP1 segment holding a big-endian EXIF IFD0
// with one entry: Orientation.
func exifOrientation(o int) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	tiff = binary.BigEndian.AppendUint16(tiff, 1)      // one entry
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112) // Orientation
	tiff = binary.BigEndian.AppendUint16(tiff, 3)      // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)      // count
	tiff = binary.BigEndian.AppendUint16(tiff, uint16(o))
	tiff = append(tiff, 0, 0)                     // SHORT left-justified in its 4 bytes
	tiff = binary.BigEndian.AppendUint32(tiff, 0) // no IFD1
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	return append(seg, payload...)
}

// Photo is a colour w×h JPEG as a phone takes it (YCbCr 4:2:0, quality
// 90, noisy paper with printed lines), with EXIF orientation o (1: none
// needed), for memory benchmarks at real photo sizes.
func Photo(seed int64, w, h, o int) []byte {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x70686f74)) // "phot"
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		n := uint8(rng.IntN(24))
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 220+n, 214+n, 200+n, 0xFF
	}
	for y := h / 20; y < h-h/20; y += max(2, h/60) {
		end := w - w/10 - rng.IntN(max(1, w/3))
		for x := w / 10; x < end; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 30, 30, 40
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(fmt.Sprintf("testimages: jpeg encode: %v", err))
	}
	data := buf.Bytes()
	if o <= 1 {
		return data
	}
	return append(append(append([]byte{}, data[:2]...), exifOrientation(o)...), data[2:]...)
}

var (
	//go:embed testdata/blue-purple-pink.lossy.webp
	webpLossy []byte
	//go:embed testdata/gopher-doc.8bpp.lossless.webp
	webpLossless []byte
	//go:embed testdata/test8.heic
	heic []byte
)

// WebPLossy is a real lossy (VP8) WebP written by libwebp.
func WebPLossy() []byte { return bytes.Clone(webpLossy) }

// WebPLossless is a real lossless (VP8L) WebP written by libwebp.
func WebPLossless() []byte { return bytes.Clone(webpLossless) }

// HEIC is a real 8-bit HEIC still image, as phones write them.
func HEIC() []byte { return bytes.Clone(heic) }
