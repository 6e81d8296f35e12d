package pages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// SplitOptions says which pages to spool.
type SplitOptions struct {
	// MaxPages refuses a source of more pages as too_many_pages, before
	// any page is written (types.<type>.maxPages; 0: no limit).
	MaxPages int
	// FirstOnly spools page 1 only (pages: first); Count still says how
	// many pages the source has.
	FirstOnly bool
	// TempDir holds the spooled pages ("" means os.TempDir()).
	TempDir string
	// Budget, when set, is charged pdfMemoryFactor times a PDF's size
	// while pdfcpu holds it in memory (see imageformat.ReadPDF), so large
	// PDFs and image decodes share one memory bound.
	Budget *Budget
}

// Document is a split source: its page count and the pages selected, in
// order (Pages[0] is page 1). Close removes the spooled files.
type Document struct {
	Count int
	Pages []Image
	dir   string
}

// Close removes the document's spooled pages. Safe to call on nil.
func (d *Document) Close() error {
	if d == nil || d.dir == "" {
		return nil
	}
	return os.RemoveAll(d.dir)
}

// Split counts the pages of a source of the given size and format (as
// imageformat.Detect names it) and returns them as single-page images. A
// single-page source is its own page 1, served from src without a copy;
// the pages of a multi-page PDF or TIFF are spooled to temp files, so src
// may be a file far larger than memory (but see ReadPDF: pdfcpu holds a
// PDF's objects in memory while it splits). src must stay readable until
// the Document is closed.
//
// Failures are *ocrerr.Error: too_many_pages, unsupported_format (an
// encrypted PDF), invalid_image (a corrupt file); others (temp files) are
// plain errors.
func Split(ctx context.Context, src io.ReaderAt, size int64, format string, opt SplitOptions) (*Document, error) {
	switch format {
	case imageformat.PDF:
		return splitPDF(ctx, src, size, opt)
	case imageformat.TIFF:
		return splitTIFF(src, size, opt)
	}
	if _, err := imageformat.PageCount(src, size, format); err != nil {
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "%s has no pages this worker can read", format).Wrap(err)
	}
	return &Document{Count: 1, Pages: []Image{readerImage(format, src, size)}}, nil
}

// checkCount applies MaxPages and returns how many pages to spool.
func checkCount(count int, format string, opt SplitOptions) (int, error) {
	if opt.MaxPages > 0 && count > opt.MaxPages {
		return 0, ocrerr.Permanent(ocrerr.TooManyPages, "the %s has %d pages, over the limit of %d", format, count, opt.MaxPages)
	}
	if opt.FirstOnly {
		return 1, nil
	}
	return count, nil
}

func classifyReadError(format string, err error) error {
	switch {
	case errors.Is(err, imageformat.ErrEncrypted):
		return ocrerr.Permanent(ocrerr.UnsupportedFormat, "the PDF is encrypted; password-protected PDFs are not supported").Wrap(err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, imageformat.ErrCorrupt):
		return ocrerr.Permanent(ocrerr.InvalidImage, "unreadable %s", format).Wrap(err)
	}
	return err
}

func splitTIFF(src io.ReaderAt, size int64, opt SplitOptions) (*Document, error) {
	order, ifds, err := imageformat.TIFFDirectories(src, size)
	if err != nil {
		return nil, classifyReadError("tiff", err)
	}
	n, err := checkCount(len(ifds), "tiff", opt)
	if err != nil {
		return nil, err
	}
	if len(ifds) == 1 {
		return &Document{Count: 1, Pages: []Image{readerImage(imageformat.TIFF, src, size)}}, nil
	}
	doc, err := newDocument(len(ifds), opt)
	if err != nil {
		return nil, err
	}
	for i := range n {
		path, psize, err := spool(doc.dir, fmt.Sprintf("page-%d-*.tiff", i+1), func(w io.Writer) error {
			return writeTIFFPage(w, src, size, order, ifds[i])
		})
		if err != nil {
			doc.Close()
			return nil, classifyReadError("tiff", err)
		}
		doc.Pages = append(doc.Pages, fileImage(imageformat.TIFF, path, psize))
	}
	return doc, nil
}

// pdfMemoryFactor is pdfcpu's peak heap while splitting, per byte of PDF:
// measured 2x for a 64 MiB one-page file, 4.3x for a 7.7 MiB 20-page scan
// (each page is written through a buffer).
const pdfMemoryFactor = 4

func splitPDF(ctx context.Context, src io.ReaderAt, size int64, opt SplitOptions) (*Document, error) {
	release, err := opt.Budget.Acquire(ctx, pdfMemoryFactor*size)
	if err != nil {
		return nil, err
	}
	defer release()
	pdf, err := imageformat.ReadPDF(ctx, io.NewSectionReader(src, 0, size))
	if err != nil {
		return nil, classifyReadError("pdf", err)
	}
	n, err := checkCount(pdf.PageCount, "pdf", opt)
	if err != nil {
		return nil, err
	}
	if pdf.PageCount == 1 {
		return &Document{Count: 1, Pages: []Image{readerImage(imageformat.PDF, src, size)}}, nil
	}
	doc, err := newDocument(pdf.PageCount, opt)
	if err != nil {
		return nil, err
	}
	// As `pdfcpu split` does: write pages without the document-wide parts
	// (outlines, named destinations, structure tree), which a page does not
	// need. Carrying named destinations over rewrites them in the source,
	// leaving later pages with dangling references (seen in pdfcpu's own
	// samples), so they are dropped before the first page.
	pdf.Conf.Cmd = model.SPLIT
	delete(pdf.Names, "Dests")
	for i := range n {
		if err := ctx.Err(); err != nil {
			doc.Close()
			return nil, err
		}
		path, psize, err := spool(doc.dir, fmt.Sprintf("page-%d-*.pdf", i+1), func(w io.Writer) error {
			return writePDFPage(w, pdf, i+1)
		})
		if err != nil {
			doc.Close()
			return nil, ocrerr.Permanent(ocrerr.InvalidImage, "pdf page %d cannot be extracted", i+1).Wrap(err)
		}
		doc.Pages = append(doc.Pages, fileImage(imageformat.PDF, path, psize))
	}
	return doc, nil
}

// writePDFPage writes one page of pdf, with the resources it uses, as a
// PDF of its own (pdfcpu's page extraction, as `pdfcpu split` does it).
func writePDFPage(w io.Writer, pdf *model.Context, page int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pdfcpu: %v", r)
		}
	}()
	one, err := pdfcpu.ExtractPages(pdf, []int{page}, false)
	if err != nil {
		return err
	}
	return api.WriteContext(one, w)
}

func newDocument(count int, opt SplitOptions) (*Document, error) {
	dir, err := os.MkdirTemp(opt.TempDir, "ocr-pages-*")
	if err != nil {
		return nil, fmt.Errorf("pages: temp dir: %w", err)
	}
	return &Document{Count: count, dir: dir}, nil
}
