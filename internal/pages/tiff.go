package pages

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
)

// A TIFF page is split out by copying, not re-encoding: its directory
// (IFD) entries, their out-of-line values and the strips or tiles they
// point to are written into a new single-page TIFF with the offsets
// rewritten. Pixels, compression (CCITT fax, LZW, JPEG, ...) and resolution
// stay exactly as scanned; only pointers to other directories (EXIF, GPS,
// sub-images) are dropped, since this file holds just the page.

// TIFF field types and their byte sizes (TIFF 6.0 section 2, plus IFD).
var tiffTypeSize = map[uint16]int64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

// Tags whose values are offsets of data blocks, and the tag holding each
// block's length.
var tiffBlockTags = map[uint16]uint16{
	273: 279, // StripOffsets, StripByteCounts
	324: 325, // TileOffsets, TileByteCounts
	513: 514, // JPEGInterchangeFormat, ...Length (old-style JPEG)
}

// Tags pointing at other directories, which a single page does not carry.
var tiffDroppedTags = map[uint16]bool{330: true, 34665: true, 34853: true, 40965: true}

type tiffEntry struct {
	tag, typ uint16
	count    uint32
	raw      [4]byte // the value field as stored: the value, or its offset
	value    []byte  // the value's bytes in the source byte order
}

// readTIFFEntries reads the IFD at off with each entry's value.
func readTIFFEntries(r io.ReaderAt, size int64, order binary.ByteOrder, off uint32) ([]tiffEntry, error) {
	var n [2]byte
	if _, err := r.ReadAt(n[:], int64(off)); err != nil {
		return nil, fmt.Errorf("tiff IFD: %w", err)
	}
	buf := make([]byte, 12*int(order.Uint16(n[:])))
	if _, err := r.ReadAt(buf, int64(off)+2); err != nil {
		return nil, fmt.Errorf("tiff IFD: %w", err)
	}
	var entries []tiffEntry
	var valueBytes int64
	for i := 0; i < len(buf); i += 12 {
		e := tiffEntry{tag: order.Uint16(buf[i:]), typ: order.Uint16(buf[i+2:]), count: order.Uint32(buf[i+4:])}
		copy(e.raw[:], buf[i+8:i+12])
		typeSize, known := tiffTypeSize[e.typ]
		if !known || tiffDroppedTags[e.tag] {
			continue // readers skip unknown types; other directories are not copied
		}
		n := typeSize * int64(e.count)
		valueBytes += n
		if n > size || valueBytes > size {
			return nil, fmt.Errorf("tiff: tag %d claims %d bytes in a %d-byte file: %w", e.tag, n, size, imageformat.ErrCorrupt)
		}
		if n <= 4 {
			e.value = append([]byte(nil), e.raw[:n]...)
		} else {
			at := int64(order.Uint32(e.raw[:]))
			if at+n > size {
				return nil, fmt.Errorf("tiff: tag %d value outside the file: %w", e.tag, imageformat.ErrCorrupt)
			}
			e.value = make([]byte, n)
			if _, err := r.ReadAt(e.value, at); err != nil {
				return nil, fmt.Errorf("tiff tag %d: %w", e.tag, err)
			}
		}
		entries = append(entries, e)
	}
	slices.SortStableFunc(entries, func(a, b tiffEntry) int { return int(a.tag) - int(b.tag) })
	return entries, nil
}

// uints reads an entry's SHORT or LONG values.
func (e tiffEntry) uints(order binary.ByteOrder) ([]uint32, bool) {
	out := make([]uint32, e.count)
	for i := range out {
		switch e.typ {
		case 3:
			out[i] = uint32(order.Uint16(e.value[2*i:]))
		case 4, 13:
			out[i] = order.Uint32(e.value[4*i:])
		default:
			return nil, false
		}
	}
	return out, true
}

type tiffBlock struct{ from, length int64 }

// writeTIFFPage writes the page whose IFD is at off as a standalone TIFF.
func writeTIFFPage(w io.Writer, r io.ReaderAt, size int64, order binary.ByteOrder, off uint32) error {
	entries, err := readTIFFEntries(r, size, order, off)
	if err != nil {
		return err
	}
	byTag := map[uint16]*tiffEntry{}
	for i := range entries {
		byTag[entries[i].tag] = &entries[i]
	}
	// Collect the data blocks and turn their offset entries into LONGs
	// whose values are filled in once the layout is known.
	var blocks []tiffBlock
	var total int64
	offsetTags := map[uint16][]int{} // tag -> indexes into blocks
	for tag, lengthTag := range tiffBlockTags {
		e, l := byTag[tag], byTag[lengthTag]
		if e == nil {
			continue
		}
		if l == nil {
			return fmt.Errorf("tiff: tag %d without its lengths (tag %d): %w", tag, lengthTag, imageformat.ErrCorrupt)
		}
		offs, ok1 := e.uints(order)
		lens, ok2 := l.uints(order)
		if !ok1 || !ok2 || len(offs) != len(lens) {
			return fmt.Errorf("tiff: tags %d/%d do not match: %w", tag, lengthTag, imageformat.ErrCorrupt)
		}
		for i := range offs {
			from, n := int64(offs[i]), int64(lens[i])
			total += n
			if from+n > size || total > size {
				return fmt.Errorf("tiff: image data outside the %d-byte file: %w", size, imageformat.ErrCorrupt)
			}
			offsetTags[tag] = append(offsetTags[tag], len(blocks))
			blocks = append(blocks, tiffBlock{from, n})
		}
		e.typ, e.value = 4, make([]byte, 4*len(offs))
	}
	if len(blocks) == 0 {
		return fmt.Errorf("tiff: page without image data: %w", imageformat.ErrCorrupt)
	}

	// Layout: header, IFD, out-of-line values, data blocks; all even.
	even := func(n int64) int64 { return n + n&1 }
	ifdLen := 2 + 12*int64(len(entries)) + 4
	at := 8 + ifdLen
	valueAt := make([]int64, len(entries))
	for i, e := range entries {
		if len(e.value) > 4 {
			valueAt[i] = at
			at = even(at + int64(len(e.value)))
		}
	}
	blockAt := make([]int64, len(blocks))
	for i, b := range blocks {
		blockAt[i] = at
		at = even(at + b.length)
	}
	if at > 1<<32-1 {
		return fmt.Errorf("tiff: page over 4 GiB: %w", imageformat.ErrCorrupt)
	}
	for tag, idx := range offsetTags {
		e := byTag[tag]
		for i, b := range idx {
			order.PutUint32(e.value[4*i:], uint32(blockAt[b]))
		}
	}

	app := order.(binary.AppendByteOrder) // LittleEndian and BigEndian are both
	var out []byte                        // header, IFD and values; the pixels are streamed after them
	if order == binary.LittleEndian {
		out = append(out, "II*\x00"...)
	} else {
		out = append(out, "MM\x00*"...)
	}
	out = app.AppendUint32(out, 8)
	out = app.AppendUint16(out, uint16(len(entries)))
	for i, e := range entries {
		out = app.AppendUint16(out, e.tag)
		out = app.AppendUint16(out, e.typ)
		out = app.AppendUint32(out, uint32(len(e.value))/uint32(tiffTypeSize[e.typ]))
		if len(e.value) > 4 {
			out = app.AppendUint32(out, uint32(valueAt[i]))
		} else {
			var field [4]byte
			copy(field[:], e.value)
			out = append(out, field[:]...)
		}
	}
	out = app.AppendUint32(out, 0) // no next page
	for i, e := range entries {
		if len(e.value) > 4 {
			out = append(out, e.value...)
			out = append(out, make([]byte, even(valueAt[i]+int64(len(e.value)))-valueAt[i]-int64(len(e.value)))...)
		}
	}
	if _, err := w.Write(out); err != nil {
		return err
	}
	for _, b := range blocks {
		if _, err := io.Copy(w, io.NewSectionReader(r, b.from, b.length)); err != nil {
			return fmt.Errorf("tiff page data: %w", err)
		}
		if b.length&1 == 1 {
			if _, err := w.Write([]byte{0}); err != nil {
				return err
			}
		}
	}
	return nil
}
