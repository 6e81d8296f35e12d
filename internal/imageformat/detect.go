// Package imageformat recognizes image formats from their first bytes and
// counts the pages of PDF and TIFF files, so a worker can refuse a bad or
// multi-page document before paying for a vendor call.
package imageformat

import "bytes"

// Format names. The first four are what the OCR vendors accept; the rest
// are recognized so callers can answer unsupported_format rather than
// invalid_image.
const (
	JPG  = "jpg"
	PNG  = "png"
	PDF  = "pdf"
	TIFF = "tiff"
	GIF  = "gif"
	WebP = "webp"
	BMP  = "bmp"
	HEIC = "heic"
	AVIF = "avif"
)

// SniffLen is how many leading bytes Detect needs at most.
const SniffLen = 16

// Detect names the format whose magic bytes start head (pass at least
// SniffLen bytes when the object is that long). ok is false for bytes no
// known format starts with.
func Detect(head []byte) (format string, ok bool) {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return JPG, true
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, true
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return PDF, true
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return TIFF, true
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF, true
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return WebP, true
	case len(head) >= 14 && bytes.HasPrefix(head, []byte("BM")) && validBMPHeader(head):
		return BMP, true
	case len(head) >= 12 && bytes.Equal(head[4:8], []byte("ftyp")):
		return isoBrand(head[8:12])
	}
	return "", false
}

// validBMPHeader guards the two-byte "BM" magic, which plain text can start
// with: the reserved fields are zero and the pixel offset is past the
// 14-byte file header.
func validBMPHeader(h []byte) bool {
	reserved := h[6] | h[7] | h[8] | h[9]
	offset := uint32(h[10]) | uint32(h[11])<<8 | uint32(h[12])<<16 | uint32(h[13])<<24
	return reserved == 0 && offset >= 14
}

// isoBrand names HEIF/AVIF files by the major brand of their ISO-BMFF
// "ftyp" box; other brands (MP4, QuickTime) are not images.
func isoBrand(brand []byte) (string, bool) {
	switch string(brand) {
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
		return HEIC, true
	case "avif", "avis":
		return AVIF, true
	}
	return "", false
}
