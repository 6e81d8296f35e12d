package testimages

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
)

// pdf writes: catalog (1), page tree (2), font (3), then per page a Page
// and its content stream, then, if pad > 0, an unreferenced stream of pad
// random bytes; then the xref table with each object's byte offset.
func pdf(pages int, seed int64, pad int) []byte {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x706466)) // "pdf"
	var buf bytes.Buffer
	var offsets []int // offsets[i] is where object i+1 starts
	object := func(body string) {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	stream := func(dict string, data []byte) {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n<< %s/Length %d >>\nstream\n", len(offsets), dict, len(data))
		buf.Write(data)
		buf.WriteString("\nendstream\nendobj\n")
	}

	buf.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n") // binary comment: marks the file as binary for transfer tools
	kids := make([]string, pages)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	object("<< /Type /Catalog /Pages 2 0 R >>")
	object(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	object("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range pages {
		object(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "+
			"/Resources << /Font << /F1 3 0 R >> >> >>", 5+2*i))
		content := fmt.Sprintf("BT /F1 18 Tf 72 760 Td (Sample document %d, page %d of %d) Tj ET\n"+
			"0.2 g %d %d %d %d re f\n",
			seed, i+1, pages, 72+rng.IntN(200), 300+rng.IntN(300), 50+rng.IntN(200), 10+rng.IntN(40))
		stream("", []byte(content))
	}
	if pad > 0 {
		stream("", randomBytes(pad))
	}

	xrefAt := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xrefAt)
	return buf.Bytes()
}

// ScanWithText is a one-page PDF showing a w×h JPEG scan (the bytes of
// JPEG(seed, w, h, nil)) and a line of text over it: drawn invisibly
// (render mode 3, the OCR layer scanners add) unless visible is set.
func ScanWithText(seed int64, w, h int, visible bool) []byte {
	var buf bytes.Buffer
	var offsets []int
	begin := func() int {
		offsets = append(offsets, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n", len(offsets))
		return len(offsets)
	}
	jpg := JPEG(seed, w, h, nil)
	mode := "3 Tr "
	if visible {
		mode = ""
	}
	content := fmt.Sprintf("q %d 0 0 %d 0 0 cm /Im0 Do Q\nBT %s/F1 12 Tf 10 10 Td (Total 12,000) Tj ET\n", w, h, mode)
	buf.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	begin()
	buf.WriteString("<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	begin()
	buf.WriteString("<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	begin()
	fmt.Fprintf(&buf, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "+
		"/Resources << /XObject << /Im0 5 0 R >> /Font << /F1 6 0 R >> >> >>\nendobj\n", w, h)
	begin()
	fmt.Fprintf(&buf, "<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	begin()
	fmt.Fprintf(&buf, "<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "+
		"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n", w, h, len(jpg))
	buf.Write(jpg)
	buf.WriteString("\nendstream\nendobj\n")
	begin()
	buf.WriteString("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n")
	xrefAt := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xrefAt)
	return buf.Bytes()
}
