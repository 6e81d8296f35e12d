package testimages

import "encoding/binary"

const tiffSide = 32 // each page is tiffSide × tiffSide pixels

// TIFF field types.
const (
	tiffShort    = 3
	tiffLong     = 4
	tiffRational = 5
)

type tiffEntry struct {
	tag, typ uint16
	value    uint32 // the value itself (SHORT/LONG) or an offset (RATIONAL)
}

// tiff lays out: header, then per page its pixels, its IFD and the two
// resolution rationals the IFD points to, then pad bytes nothing references.
// Every offset is even, as the TIFF spec requires for IFDs.
func tiff(seed int64, pages, pad int) []byte {
	le := binary.LittleEndian
	const (
		pixels   = tiffSide * tiffSide
		nEntries = 12
		ifdSize  = 2 + nEntries*12 + 4
	)
	out := []byte("II*\x00\x08\x00\x00\x00") // first IFD right after the pixels of page 1, patched below
	nextPtr := 4                             // where the offset of the next IFD goes
	for p := range pages {
		stripAt := len(out)
		out = append(out, document(seed+int64(p), tiffSide, tiffSide).Pix...)
		ifdAt := len(out)
		le.PutUint32(out[nextPtr:], uint32(ifdAt))
		ratAt := uint32(ifdAt + ifdSize)
		entries := []tiffEntry{ // sorted by tag, as the spec requires
			{256, tiffShort, tiffSide},       // ImageWidth
			{257, tiffShort, tiffSide},       // ImageLength
			{258, tiffShort, 8},              // BitsPerSample
			{259, tiffShort, 1},              // Compression: none
			{262, tiffShort, 1},              // PhotometricInterpretation: BlackIsZero
			{273, tiffLong, uint32(stripAt)}, // StripOffsets
			{277, tiffShort, 1},              // SamplesPerPixel
			{278, tiffShort, tiffSide},       // RowsPerStrip
			{279, tiffLong, pixels},          // StripByteCounts
			{282, tiffRational, ratAt},       // XResolution
			{283, tiffRational, ratAt + 8},   // YResolution
			{296, tiffShort, 2},              // ResolutionUnit: inch
		}
		out = le.AppendUint16(out, nEntries)
		for _, e := range entries {
			out = le.AppendUint16(out, e.tag)
			out = le.AppendUint16(out, e.typ)
			out = le.AppendUint32(out, 1) // count
			if e.typ == tiffShort {
				out = le.AppendUint16(out, uint16(e.value))
				out = le.AppendUint16(out, 0) // SHORTs are left-justified in the 4-byte field
			} else {
				out = le.AppendUint32(out, e.value)
			}
		}
		nextPtr = len(out)
		out = le.AppendUint32(out, 0) // next IFD: none unless another page follows
		for range 2 {
			out = le.AppendUint32(out, 300) // 300 dpi
			out = le.AppendUint32(out, 1)
		}
	}
	return append(out, randomBytes(pad)...)
}
