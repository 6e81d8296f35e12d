package imageformat

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrCorrupt means the file's structure is broken (truncated header,
	// offsets past the end, an IFD loop).
	ErrCorrupt = errors.New("corrupt file structure")
	// ErrPageCountUnknown means the file may be fine but its pages cannot be
	// counted without a full parser (a PDF whose page tree sits in
	// compressed object streams).
	ErrPageCountUnknown = errors.New("page count not determinable")
)

// MaxTIFFPages bounds the IFD walk; a longer chain is reported as corrupt.
const MaxTIFFPages = 10000

// PageCount counts the pages of a PDF or TIFF of the given size. Single-image
// formats have one page. It reads r sequentially (PDF) or a few bytes per
// page (TIFF), never the whole file into memory, and ends on any input.
//
// PDF is counted by a tokenizer, not a full parser (see pdfPages). TIFF is
// counted by walking the chain of image file directories (IFDs).
func PageCount(r io.ReaderAt, size int64, format string) (int, error) {
	switch format {
	case PDF:
		return pdfPages(io.NewSectionReader(r, 0, size))
	case TIFF:
		return tiffPages(r, size)
	case JPG, PNG, GIF, WebP, BMP, HEIC, AVIF:
		return 1, nil
	}
	return 0, fmt.Errorf("imageformat: no page count for format %q", format)
}

func tiffPages(r io.ReaderAt, size int64) (int, error) {
	var hdr [8]byte
	if size < 8 {
		return 0, fmt.Errorf("tiff: %d-byte file: %w", size, ErrCorrupt)
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return 0, fmt.Errorf("tiff header: %w", err)
	}
	var order binary.ByteOrder
	switch string(hdr[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0, fmt.Errorf("tiff: byte order %q: %w", hdr[:2], ErrCorrupt)
	}
	if order.Uint16(hdr[2:]) != 42 {
		return 0, fmt.Errorf("tiff: not classic TIFF (BigTIFF is unsupported): %w", ErrCorrupt)
	}
	seen := make(map[uint32]bool)
	pages := 0
	var buf [4]byte
	for off := order.Uint32(hdr[4:]); off != 0; {
		if pages == MaxTIFFPages {
			return 0, fmt.Errorf("tiff: more than %d IFDs: %w", MaxTIFFPages, ErrCorrupt)
		}
		if off < 8 || int64(off)+2 > size {
			return 0, fmt.Errorf("tiff: IFD offset %d outside the %d-byte file: %w", off, size, ErrCorrupt)
		}
		if seen[off] {
			return 0, fmt.Errorf("tiff: IFD chain loops at offset %d: %w", off, ErrCorrupt)
		}
		seen[off] = true
		if _, err := r.ReadAt(buf[:2], int64(off)); err != nil {
			return 0, fmt.Errorf("tiff IFD: %w", err)
		}
		nextAt := int64(off) + 2 + 12*int64(order.Uint16(buf[:2]))
		if nextAt+4 > size {
			return 0, fmt.Errorf("tiff: IFD at %d runs past the end: %w", off, ErrCorrupt)
		}
		if _, err := r.ReadAt(buf[:], nextAt); err != nil {
			return 0, fmt.Errorf("tiff IFD: %w", err)
		}
		pages++
		off = order.Uint32(buf[:])
	}
	if pages == 0 {
		return 0, fmt.Errorf("tiff: no image directory: %w", ErrCorrupt)
	}
	return pages, nil
}

// pdfPages counts a PDF's pages with a tokenizer that sees objects
// ("N G obj ... endobj"), names, integers, skips strings, comments and stream
// data, and remembers per object whether it says /Type /Page, /Type /Pages
// with /Count N, or /Linearized with /N pages. The answer, best first:
//
//  1. the largest /Count of a /Pages node: the root of the page tree
//     counts every page, and inner nodes count fewer;
//  2. the number of /Type /Page objects;
//  3. the /N of a linearization dictionary.
//
// Incremental updates can leave stale copies of objects, so the count can
// err high, never low; for refusing multi-page documents that is the safe
// side. Objects inside compressed object streams (PDF 1.5+) are invisible:
// if nothing is found the answer is ErrPageCountUnknown.
func pdfPages(r io.Reader) (int, error) {
	s := pdfScanner{r: bufio.NewReaderSize(r, 64<<10)}
	if err := s.scan(); err != nil {
		return 0, err
	}
	switch {
	case s.maxCount > 0:
		return s.maxCount, nil
	case s.pageObjects > 0:
		return s.pageObjects, nil
	case s.linearizedN > 0:
		return s.linearizedN, nil
	}
	return 0, fmt.Errorf("pdf: no page tree outside object streams: %w", ErrPageCountUnknown)
}

// maxInt caps integers read from hostile input.
const maxInt = 1 << 30

type pdfScanner struct {
	r *bufio.Reader

	// Totals over the file.
	maxCount, pageObjects, linearizedN int

	// The current object.
	isPage, isPages, isLinearized bool
	count, n                      int
	lastName                      string // the name token just before, "" otherwise
}

func (s *pdfScanner) endObject() {
	if s.isPage {
		s.pageObjects++
	}
	if s.isPages && s.count > s.maxCount {
		s.maxCount = s.count
	}
	if s.isLinearized && s.n > 0 {
		s.linearizedN = s.n
	}
	s.isPage, s.isPages, s.isLinearized = false, false, false
	s.count, s.n, s.lastName = 0, 0, ""
}

func (s *pdfScanner) scan() error {
	defer s.endObject()
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		switch {
		case isPDFSpace(c):
			continue
		case c == '%':
			err = s.skipComment()
		case c == '/':
			s.name(s.readToken(nil))
			continue
		case c == '(':
			err = s.skipLiteralString()
		case c == '<':
			err = s.skipHexStringOrDict()
		case isPDFDelimiter(c):
			// ) > [ ] { }: structure this tokenizer does not need.
		default:
			err = s.word(s.readToken([]byte{c}))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		s.lastName = "" // a value follows its name directly, or not at all
	}
}

// name handles a name token: "/Type /Page" marks the object.
func (s *pdfScanner) name(n []byte) {
	if s.lastName == "Type" {
		switch string(n) {
		case "Page":
			s.isPage = true
		case "Pages":
			s.isPages = true
		}
	}
	if string(n) == "Linearized" {
		s.isLinearized = true
	}
	s.lastName = string(n)
}

// word handles a regular token: an integer value or a keyword.
func (s *pdfScanner) word(w []byte) error {
	if v, ok := parseInt(w); ok {
		switch s.lastName {
		case "Count":
			s.count = v
		case "N":
			s.n = v
		}
		return nil
	}
	switch string(w) {
	case "obj", "endobj":
		s.endObject()
	case "stream":
		return s.skipStream()
	}
	return nil
}

// readToken reads regular characters after the ones in start. Only the
// first 64 are kept: no PDF name or keyword we look for is longer.
func (s *pdfScanner) readToken(start []byte) []byte {
	tok := start
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return tok
		}
		if isPDFSpace(c) || isPDFDelimiter(c) || c == '/' || c == '%' || c == '(' || c == '<' {
			s.r.UnreadByte()
			return tok
		}
		if len(tok) < 64 {
			tok = append(tok, c)
		}
	}
}

func (s *pdfScanner) skipComment() error {
	for {
		c, err := s.r.ReadByte()
		if err != nil || c == '\n' || c == '\r' {
			return err
		}
	}
}

// skipLiteralString skips "( ... )" with balanced parentheses and
// backslash escapes, so text such as "(/Type /Page)" is not counted.
func (s *pdfScanner) skipLiteralString() error {
	depth := 1
	for depth > 0 {
		c, err := s.r.ReadByte()
		if err != nil {
			return err
		}
		switch c {
		case '\\':
			if _, err := s.r.ReadByte(); err != nil {
				return err
			}
		case '(':
			depth++
		case ')':
			depth--
		}
	}
	return nil
}

// skipHexStringOrDict consumes "<<" (a dictionary opens: nothing to do) or
// a hex string "<...>".
func (s *pdfScanner) skipHexStringOrDict() error {
	c, err := s.r.ReadByte()
	if err != nil || c == '<' {
		return err
	}
	for c != '>' {
		if c, err = s.r.ReadByte(); err != nil {
			return err
		}
	}
	return nil
}

var endstream = []byte("endstream")

// skipStream skips raw stream bytes up to the "endstream" keyword. It does
// not trust /Length (often an indirect reference, or wrong), and finds the
// keyword with ReadSlice, so binary data is scanned at memchr speed.
func (s *pdfScanner) skipStream() error {
	var tail []byte // the last bytes of the previous slice, to match across slices
	for {
		chunk, err := s.r.ReadSlice('m')
		if len(chunk) > 0 {
			window := append(tail, chunk[max(0, len(chunk)-len(endstream)):]...)
			if bytes.HasSuffix(window, endstream) {
				return nil
			}
			tail = append(tail[:0], window[max(0, len(window)-len(endstream)+1):]...)
		}
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
	}
}

func parseInt(w []byte) (int, bool) {
	if len(w) == 0 {
		return 0, false
	}
	v := 0
	for _, c := range w {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = min(v*10+int(c-'0'), maxInt)
	}
	return v, true
}

func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isPDFDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}':
		return true
	}
	return false
}
