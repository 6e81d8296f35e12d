package pages

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// A PDF page goes to a vendor that does not take PDF only when it is a
// scan: exactly one image and no visible text (an OCR layer drawn in
// render mode 3, invisible, is allowed). That image, as pdfcpu extracts it
// (a DCT stream is the JPEG itself; other encodings are rendered to PNG or
// TIFF), shown under the page's /Rotate, is then what the viewer shows.
// Anything else would need a PDF renderer, which this worker does not have.

var (
	textShown     = regexp.MustCompile(`(^|[\s\]\)>])(Tj|TJ|'|")(\s|$)`)
	invisibleText = regexp.MustCompile(`(^|\s)3\s+Tr(\s|$)`)
)

func (c *Converter) pdfPage(ctx context.Context, img Image, accepted []string) (p *Prepared, err error) {
	defer func() {
		// pdfcpu reports some malformed input by panicking.
		if r := recover(); r != nil {
			p, err = nil, ocrerr.Permanent(ocrerr.InvalidImage, "unreadable PDF page: %v", r)
		}
	}()
	rs, closeSrc, err := seekable(ctx, img, c.TempDir)
	if err != nil {
		return nil, err
	}
	defer closeSrc()
	pdf, err := imageformat.ReadPDF(ctx, rs)
	if err != nil {
		return nil, classifyReadError("pdf", err)
	}
	if pdf.PageCount != 1 {
		return nil, ocrerr.Permanent(ocrerr.Internal, "pages: Prepare got a PDF of %d pages; Split it first", pdf.PageCount)
	}
	stub, sd, rotate, err := scannedImage(pdf)
	if err != nil {
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "a PDF page needs converting for a vendor that takes %v, but %v", accepted, err)
	}
	pixels := int64(stub.Width) * int64(stub.Height)
	if c.MaxPixels > 0 && pixels > c.MaxPixels {
		return nil, ocrerr.Permanent(ocrerr.TooLarge, "the PDF page's image of %dx%d pixels (%.1f megapixels) is over the limit of %.1f megapixels",
			stub.Width, stub.Height, float64(pixels)/1e6, float64(c.MaxPixels)/1e6)
	}
	extracted, err := c.extract(ctx, pdf, stub, sd, pixels)
	if err != nil {
		return nil, err
	}
	p, err = c.prepare(ctx, extracted.Image, rotatedPDF(rotate), accepted)
	if err != nil {
		extracted.Close()
		return nil, err
	}
	if !p.Converted { // the extracted image itself is sent
		return &Prepared{Image: extracted.Image, Converted: true, temps: extracted.temps}, nil
	}
	p.temps = append(p.temps, extracted.temps...)
	return p, nil
}

// scannedImage returns page 1's only image if the page is a scan, else an
// error saying what the page holds.
func scannedImage(pdf *model.Context) (model.Image, *types.StreamDict, int, error) {
	if err := api.OptimizeContext(pdf); err != nil { // indexes each page's images
		return model.Image{}, nil, 0, fmt.Errorf("its images cannot be listed: %v", err)
	}
	stubs, err := pdfcpu.ExtractPageImages(pdf, 1, true)
	if err != nil {
		return model.Image{}, nil, 0, fmt.Errorf("its images cannot be read: %v", err)
	}
	content, err := pdfcpu.ExtractPageContent(pdf, 1)
	if err != nil {
		return model.Image{}, nil, 0, fmt.Errorf("its content cannot be read: %v", err)
	}
	ops, _ := io.ReadAll(content)
	if textShown.Match(ops) && !invisibleText.Match(ops) {
		return model.Image{}, nil, 0, fmt.Errorf("it holds text, which only a PDF renderer could draw")
	}
	var images []model.Image
	for _, s := range stubs {
		if !s.Thumb {
			images = append(images, s)
		}
	}
	if len(images) != 1 {
		return model.Image{}, nil, 0, fmt.Errorf("it holds %d images, not one scanned image", len(images))
	}
	obj := pdf.Optimize.ImageObjects[images[0].ObjNr]
	if obj == nil {
		return model.Image{}, nil, 0, fmt.Errorf("its image cannot be found")
	}
	_, _, inherited, err := pdf.PageDict(1, false)
	if err != nil {
		return model.Image{}, nil, 0, fmt.Errorf("its page dictionary cannot be read: %v", err)
	}
	return images[0], obj.ImageDict, inherited.Rotate, nil
}

// extract writes the page's image to a temp file, within the budget: for
// anything but a DCT (JPEG) stream, pdfcpu decodes the pixels in memory.
func (c *Converter) extract(ctx context.Context, pdf *model.Context, stub model.Image, sd *types.StreamDict, pixels int64) (*Prepared, error) {
	release, err := c.Budget.Acquire(ctx, 4*pixels)
	if err != nil {
		return nil, err
	}
	defer release()
	img, err := pdfcpu.ExtractImage(pdf, sd, false, stub.Name, stub.ObjNr, false)
	if err != nil || img == nil || img.Reader == nil {
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "the PDF page's image (%s) cannot be extracted: %v", stub.Filter, err)
	}
	format, ok := map[string]string{"jpg": imageformat.JPG, "png": imageformat.PNG, "tif": imageformat.TIFF}[img.FileType]
	if !ok {
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "the PDF page's image is %s (%s), which this worker cannot convert", img.FileType, stub.Filter)
	}
	path, size, err := spool(c.TempDir, "pdf-image-*."+format, func(w io.Writer) error {
		_, err := io.Copy(w, img.Reader)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Prepared{Image: fileImage(format, path, size), Converted: true, temps: []string{path}}, nil
}

// seekable gives pdfcpu the random access it needs: the page's own file
// when it is one, else a temp copy.
func seekable(ctx context.Context, img Image, dir string) (io.ReadSeeker, func(), error) {
	rc, err := img.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	if rs, ok := rc.(io.ReadSeeker); ok {
		return rs, func() { rc.Close() }, nil
	}
	defer rc.Close()
	path, _, err := spool(dir, "pdf-page-*.pdf", func(w io.Writer) error {
		_, err := io.Copy(w, rc)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		os.Remove(path)
		return nil, nil, err
	}
	return f, func() { f.Close(); os.Remove(path) }, nil
}
