package imageformat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrCorrupt means the file's structure is broken (truncated header,
	// offsets past the end, an IFD loop).
	ErrCorrupt = errors.New("corrupt file structure")
	// ErrPageCountUnknown comes with ErrCorrupt when pdfcpu cannot parse a
	// PDF: the file may be damaged, or use structures pdfcpu does not read,
	// so its page count is unknown. A caller that prefers letting the
	// vendor judge such a file tests for this; one that refuses broken
	// files tests for ErrCorrupt.
	ErrPageCountUnknown = errors.New("page count not determinable")
)

// MaxTIFFPages bounds the IFD walk; a longer chain is reported as corrupt.
const MaxTIFFPages = 10000

// PageCount counts the pages of a PDF or TIFF of the given size. Single-image
// formats have one page. It ends on any input.
//
// PDF is parsed and its page tree validated by pdfcpu, which holds the file's
// objects in memory while counting (see ReadPDF); an encrypted PDF fails with
// ErrEncrypted. TIFF is counted by walking the chain of image file
// directories (IFDs), a few bytes per page.
func PageCount(r io.ReaderAt, size int64, format string) (int, error) {
	switch format {
	case PDF:
		return pdfPages(r, size)
	case TIFF:
		return tiffPages(r, size)
	case JPG, PNG, GIF, WebP, BMP, HEIC, AVIF:
		return 1, nil
	}
	return 0, fmt.Errorf("imageformat: no page count for format %q", format)
}

func tiffPages(r io.ReaderAt, size int64) (int, error) {
	_, ifds, err := TIFFDirectories(r, size)
	return len(ifds), err
}

// TIFFDirectories walks a classic TIFF's chain of image file directories
// (one per page) and returns the byte order and each IFD's offset, in page
// order. Loops, offsets outside the file and chains over MaxTIFFPages fail
// with ErrCorrupt; so does BigTIFF, which this project does not read.
func TIFFDirectories(r io.ReaderAt, size int64) (binary.ByteOrder, []uint32, error) {
	var hdr [8]byte
	if size < 8 {
		return nil, nil, fmt.Errorf("tiff: %d-byte file: %w", size, ErrCorrupt)
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, nil, fmt.Errorf("tiff header: %w", err)
	}
	var order binary.ByteOrder
	switch string(hdr[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return nil, nil, fmt.Errorf("tiff: byte order %q: %w", hdr[:2], ErrCorrupt)
	}
	if order.Uint16(hdr[2:]) != 42 {
		return nil, nil, fmt.Errorf("tiff: not classic TIFF (BigTIFF is unsupported): %w", ErrCorrupt)
	}
	seen := make(map[uint32]bool)
	var ifds []uint32
	var buf [4]byte
	for off := order.Uint32(hdr[4:]); off != 0; {
		if len(ifds) == MaxTIFFPages {
			return nil, nil, fmt.Errorf("tiff: more than %d IFDs: %w", MaxTIFFPages, ErrCorrupt)
		}
		if off < 8 || int64(off)+2 > size {
			return nil, nil, fmt.Errorf("tiff: IFD offset %d outside the %d-byte file: %w", off, size, ErrCorrupt)
		}
		if seen[off] {
			return nil, nil, fmt.Errorf("tiff: IFD chain loops at offset %d: %w", off, ErrCorrupt)
		}
		seen[off] = true
		if _, err := r.ReadAt(buf[:2], int64(off)); err != nil {
			return nil, nil, fmt.Errorf("tiff IFD: %w", err)
		}
		nextAt := int64(off) + 2 + 12*int64(order.Uint16(buf[:2]))
		if nextAt+4 > size {
			return nil, nil, fmt.Errorf("tiff: IFD at %d runs past the end: %w", off, ErrCorrupt)
		}
		if _, err := r.ReadAt(buf[:], nextAt); err != nil {
			return nil, nil, fmt.Errorf("tiff IFD: %w", err)
		}
		ifds = append(ifds, off)
		off = order.Uint32(buf[:])
	}
	if len(ifds) == 0 {
		return nil, nil, fmt.Errorf("tiff: no image directory: %w", ErrCorrupt)
	}
	return order, ifds, nil
}
