package testimages

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// The PDFs below are written by pdfcpu, a real PDF writer, so tests see the
// structures real producers emit (object streams, xref streams, DCT images,
// encryption dictionaries), not only this package's hand-written layout.

var (
	pdfDate = regexp.MustCompile(`D:\d{14}[+-]\d{2}'\d{2}'`)
	pdfID   = regexp.MustCompile(`/ID\s*\[\s*<[0-9A-Fa-f]{32}>\s*<[0-9A-Fa-f]{32}>\s*\]`)
)

// deterministic replaces what pdfcpu derives from the clock (creation and
// modification dates, the file ID) with fixed values of the same length,
// so offsets stay right and a seed gives the same bytes every time.
func deterministic(pdf []byte) []byte {
	pdf = pdfDate.ReplaceAll(pdf, []byte("D:20260101000000+00'00'"))
	return pdfID.ReplaceAllFunc(pdf, func(id []byte) []byte {
		return regexp.MustCompile(`[0-9A-Fa-f]{32}`).ReplaceAll(id, []byte("00000000000000000000000000000000"))
	})
}

func pdfcpuConfig() *model.Configuration {
	api.DisableConfigDir() // never create a config directory in $HOME
	conf := model.NewDefaultConfiguration()
	conf.Offline = true
	return conf
}

// PDFObjectStreams is PDF(pages, seed) rewritten by pdfcpu with its page
// tree inside a compressed object stream and a cross-reference stream
// (PDF 1.5), the layout of most modern producers.
func PDFObjectStreams(pages int, seed int64) []byte {
	conf := pdfcpuConfig()
	conf.WriteObjectStream = true
	conf.WriteXRefStream = true
	ctx, err := api.ReadContext(bytes.NewReader(PDF(pages, seed)), conf)
	if err != nil {
		panic(fmt.Sprintf("testimages: pdfcpu read: %v", err))
	}
	var out bytes.Buffer
	if err := api.WriteContext(ctx, &out); err != nil {
		panic(fmt.Sprintf("testimages: pdfcpu write: %v", err))
	}
	return deterministic(out.Bytes())
}

// ScannedPDF is what a scanner or phone app makes of a stack of paper: one
// page per image, each page showing nothing but that JPEG (w×h, seeded per
// page), imported by pdfcpu.
func ScannedPDF(seed int64, pages, w, h int) []byte {
	imgs := make([][]byte, pages)
	for i := range imgs {
		imgs[i] = JPEG(seed+int64(i), w, h, nil)
	}
	return ScannedPDFOf(imgs...)
}

// ScannedPDFOf imports image files (JPEG, PNG, TIFF...) with pdfcpu, one
// page each, the image filling the page. A JPEG stays a DCT stream; a PNG
// becomes a Flate-compressed image.
func ScannedPDFOf(images ...[]byte) []byte {
	imgs := make([]io.Reader, len(images))
	for i, img := range images {
		imgs[i] = bytes.NewReader(img)
	}
	imp := pdfcpu.DefaultImportConfig()
	imp.Pos = types.Full // the image fills the page
	var out bytes.Buffer
	if err := api.ImportImages(nil, &out, imgs, imp, pdfcpuConfig()); err != nil {
		panic(fmt.Sprintf("testimages: pdfcpu import images: %v", err))
	}
	return deterministic(out.Bytes())
}

// EncryptedPDF is PDF(pages, seed) encrypted by pdfcpu (AES-256). With an
// empty userPW anyone may open it (only the owner password restricts it).
// Unlike the other generators its bytes differ per call (random keys).
func EncryptedPDF(pages int, seed int64, userPW, ownerPW string) []byte {
	conf := pdfcpuConfig()
	conf.UserPW, conf.OwnerPW = userPW, ownerPW
	conf.EncryptUsingAES, conf.EncryptKeyLength = true, 256
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(PDF(pages, seed)), &out, conf); err != nil {
		panic(fmt.Sprintf("testimages: pdfcpu encrypt: %v", err))
	}
	return out.Bytes()
}

// PDFRemovedPage is PDF(pages, seed) followed by an incremental update (the
// way editors save) that drops the last page: the file still holds the old
// page tree, but a reader must see pages-1 pages.
func PDFRemovedPage(pages int, seed int64) []byte {
	if pages < 2 {
		panic("testimages: PDFRemovedPage needs at least 2 pages")
	}
	base := PDF(pages, seed)
	prevXref := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(base)
	prev, _ := strconv.Atoi(string(prevXref[1]))
	size := 3 + 2*pages + 1 // objects 0..(3+2*pages), as in pdf()
	var kids []byte
	for i := range pages - 1 {
		kids = fmt.Appendf(kids, "%d 0 R ", 4+2*i)
	}
	out := bytes.NewBuffer(append([]byte{}, base...))
	pagesAt := out.Len()
	fmt.Fprintf(out, "2 0 obj\n<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n", kids, pages-1)
	xrefAt := out.Len()
	fmt.Fprintf(out, "xref\n2 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n",
		pagesAt, size, prev, xrefAt)
	return out.Bytes()
}
