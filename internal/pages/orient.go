package pages

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"io"
)

// exifScanLimit bounds how far into a JPEG the orientation is looked for:
// EXIF sits in an APP1 segment (at most 64 KiB) right after the start.
const exifScanLimit = 256 << 10

// JPEGOrientation reads a JPEG's EXIF orientation (1-8, EXIF tag 0x0112)
// from its leading segments, stopping at the image data. Without EXIF, or
// with an unreadable or out-of-range value, it is 1: stored upright.
func JPEGOrientation(r io.Reader) int {
	o, _ := jpegOrientation(r)
	return o
}

// jpegOrientation is JPEGOrientation; complete is false when r ended
// before the answer was certain (before the image data started).
func jpegOrientation(r io.Reader) (orientation int, complete bool) {
	br := bufio.NewReader(io.LimitReader(r, exifScanLimit))
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil {
		return 1, false
	}
	if soi != [2]byte{0xFF, 0xD8} {
		return 1, true
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 1, false
		}
		if b != 0xFF {
			return 1, true // not a marker: a broken file, left to the decoder
		}
		marker, err := br.ReadByte()
		for err == nil && marker == 0xFF { // fill bytes
			marker, err = br.ReadByte()
		}
		switch {
		case err != nil:
			return 1, false
		case marker == 0xDA, marker == 0xD9: // start of scan, end of image
			return 1, true
		case marker == 0x01, marker >= 0xD0 && marker <= 0xD7: // no length
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 1, false
		}
		n := int(binary.BigEndian.Uint16(l[:])) - 2
		if n < 0 {
			return 1, true
		}
		if marker != 0xE1 {
			if _, err := br.Discard(n); err != nil {
				return 1, false
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(br, seg); err != nil {
			return 1, false
		}
		if o, ok := exifOrientation(seg); ok {
			return o, true
		}
	}
}

// exifOrientation reads Orientation from an APP1 payload ("Exif\0\0" and a
// TIFF structure); ok is false for APP1 segments that are not EXIF (XMP).
func exifOrientation(seg []byte) (int, bool) {
	t, ok := bytes.CutPrefix(seg, []byte("Exif\x00\x00"))
	if !ok || len(t) < 8 {
		return 0, false
	}
	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1, true
	}
	ifd := int64(order.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 1, true
	}
	n := int64(order.Uint16(t[ifd:]))
	for e := ifd + 2; e+12 <= int64(len(t)) && e < ifd+2+12*n; e += 12 {
		if order.Uint16(t[e:]) == 0x0112 && order.Uint16(t[e+2:]) == 3 {
			if o := int(order.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o, true
			}
			return 1, true
		}
	}
	return 1, true
}

// rotatedPDF maps a PDF page's /Rotate (degrees clockwise) to the EXIF
// orientation that shows the page as a viewer does.
func rotatedPDF(degrees int) int {
	switch ((degrees % 360) + 360) % 360 {
	case 90:
		return 6
	case 180:
		return 3
	case 270:
		return 8
	}
	return 1
}

// orient returns img as it is displayed under EXIF orientation o: a new
// image for o in 2-8 (Gray stays Gray, everything else becomes RGBA).
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	dw, dh := W, H
	if o >= 5 {
		dw, dh = H, W
	}
	// source maps a displayed pixel back to the stored one.
	source := func(x, y int) (int, int) {
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
			return y, H - 1 - x
		case 7:
			return W - 1 - y, H - 1 - x
		default: // 8
			return W - 1 - y, x
		}
	}
	if g, ok := img.(*image.Gray); ok {
		out := image.NewGray(image.Rect(0, 0, dw, dh))
		for y := range dh {
			row := out.Pix[y*out.Stride:]
			for x := range dw {
				sx, sy := source(x, y)
				row[x] = g.Pix[g.PixOffset(b.Min.X+sx, b.Min.Y+sy)]
			}
		}
		return out
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	pixel := rgbaAt(img)
	for y := range dh {
		row := out.Pix[y*out.Stride:]
		for x := range dw {
			sx, sy := source(x, y)
			c := pixel(b.Min.X+sx, b.Min.Y+sy)
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
	return out
}

// rgbaAt reads pixels of the common decoded types without the per-pixel
// interface allocation of At (a 12-megapixel photo is 12 million calls).
func rgbaAt(img image.Image) func(x, y int) color.RGBA {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) color.RGBA {
			yy := m.Y[m.YOffset(x, y)]
			c := m.COffset(x, y)
			r, g, b := color.YCbCrToRGB(yy, m.Cb[c], m.Cr[c])
			return color.RGBA{r, g, b, 0xFF}
		}
	case *image.RGBA:
		return func(x, y int) color.RGBA {
			i := m.PixOffset(x, y)
			return color.RGBA{m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3]}
		}
	}
	return func(x, y int) color.RGBA { return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) }
}
