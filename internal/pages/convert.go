package pages

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"slices"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// Converter prepares pages for a vendor. One Converter (one Budget) serves
// a whole worker; it is safe for concurrent use.
type Converter struct {
	// Budget bounds decoded pixels held at once (worker.decodeBudget).
	Budget *Budget
	// MaxPixels refuses larger images as too_large before decoding
	// (worker.maxPixels; 0: no limit).
	MaxPixels int64
	// TempDir holds converted images ("" means os.TempDir()).
	TempDir string
}

// JPEGQuality is the quality converted photos are written with: high
// enough that OCR sees no artefacts, a third of the PNG size.
const JPEGQuality = 92

// Prepared is what to send for one page. Close removes any temp files.
type Prepared struct {
	Image
	// Converted says the bytes are not the source's: decoded and
	// re-encoded, or an image taken out of a PDF page.
	Converted bool
	temps     []string
}

// Close removes the temp files behind a converted image. Safe on nil.
func (p *Prepared) Close() error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, path := range p.temps {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	p.temps = nil
	return errors.Join(errs...)
}

// Prepare makes img (one page) into an upright image in one of the
// accepted formats (the vendor client's Formats()):
//
//   - an accepted format needing no rotation passes through untouched and
//     streamed (no decode, no copy);
//   - a JPEG with an EXIF orientation other than 1 is rotated;
//   - WebP, BMP, GIF (first frame), HEIC, and TIFF where TIFF is not
//     accepted, are decoded and re-encoded: as JPEG when they come from a
//     lossy photo codec (HEIC, lossy WebP), else as lossless PNG;
//   - a PDF page where PDF is not accepted becomes its image when it is a
//     scan (one embedded image and no visible text), else it fails.
//
// Failures are *ocrerr.Error (unsupported_format naming why, too_large
// over MaxPixels, invalid_image for undecodable bytes), or plain errors
// for temp-file and context failures.
func (c *Converter) Prepare(ctx context.Context, img Image, accepted []string) (*Prepared, error) {
	if img.Format == imageformat.PDF && !slices.Contains(accepted, imageformat.PDF) {
		return c.pdfPage(ctx, img, accepted)
	}
	orientation := 1
	if img.Format == imageformat.JPG {
		o, complete := jpegOrientation(bytes.NewReader(img.Head))
		if !complete {
			rc, err := img.Open(ctx)
			if err != nil {
				return nil, err
			}
			o = JPEGOrientation(rc)
			rc.Close()
		}
		orientation = o
	}
	return c.prepare(ctx, img, orientation, accepted)
}

// prepare passes img through when it can, else converts it showing it
// under orientation.
func (c *Converter) prepare(ctx context.Context, img Image, orientation int, accepted []string) (*Prepared, error) {
	if orientation == 1 && slices.Contains(accepted, img.Format) {
		return &Prepared{Image: img}, nil
	}
	return c.convert(ctx, img, orientation, accepted)
}

func (c *Converter) convert(ctx context.Context, img Image, orientation int, accepted []string) (*Prepared, error) {
	dec, ok := codecs[img.Format]
	if !ok {
		why := noDecoder[img.Format]
		if why == "" {
			why = fmt.Sprintf("%s cannot be converted", img.Format)
		}
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "%s; the vendor takes %v", why, accepted)
	}
	if !slices.Contains(accepted, imageformat.PNG) && !slices.Contains(accepted, imageformat.JPG) {
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "%s would need converting, but the vendor takes %v, neither png nor jpg", img.Format, accepted)
	}
	cfg, err := c.header(ctx, img, dec)
	if err != nil {
		return nil, err
	}
	pixels := int64(cfg.Width) * int64(cfg.Height)
	if c.MaxPixels > 0 && pixels > c.MaxPixels {
		return nil, ocrerr.Permanent(ocrerr.TooLarge, "%s of %dx%d pixels (%.1f megapixels) is over the limit of %.1f megapixels",
			img.Format, cfg.Width, cfg.Height, float64(pixels)/1e6, float64(c.MaxPixels)/1e6)
	}
	weight := decodedBytesPerPixel(cfg.ColorModel) * pixels
	if orientation != 1 {
		weight += 4 * pixels // the turned copy (RGBA, or Gray for gray images)
	}
	release, err := c.Budget.Acquire(ctx, weight)
	if err != nil {
		return nil, err
	}
	defer release()

	decoded, err := c.decode(ctx, img, dec)
	if err != nil {
		return nil, err
	}
	format := outputFormat(img.Format, decoded, accepted)
	decoded = orient(decoded, orientation)
	path, size, err := spool(c.TempDir, "converted-*."+format, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		var err error
		if format == imageformat.JPG {
			err = jpeg.Encode(bw, decoded, &jpeg.Options{Quality: JPEGQuality})
		} else {
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(bw, decoded)
		}
		if err != nil {
			return fmt.Errorf("pages: encode %s: %w", format, err)
		}
		return bw.Flush()
	})
	if err != nil {
		return nil, err
	}
	return &Prepared{Image: fileImage(format, path, size), Converted: true, temps: []string{path}}, nil
}

// decodedBytesPerPixel bounds what a decoded pixel takes: 8 bytes for
// 16-bit-per-channel images, else at most 4 (RGBA; YCbCr and Gray take
// fewer, and are counted as 4 to keep one simple rule).
func decodedBytesPerPixel(m color.Model) int64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	return 4
}

// outputFormat is JPEG for images from a lossy photo codec (JPEG, HEIC,
// lossy WebP, which decodes to YCbCr): re-encoding them as PNG would only
// inflate them. Everything else is written losslessly as PNG. Either gives
// way to what the vendor takes.
func outputFormat(from string, img image.Image, accepted []string) string {
	want, other := imageformat.PNG, imageformat.JPG
	_, ycc := img.(*image.YCbCr)
	if ycc || from == imageformat.JPG || from == imageformat.HEIC {
		want, other = other, want
	}
	if slices.Contains(accepted, want) {
		return want
	}
	return other
}

func (c *Converter) header(ctx context.Context, img Image, dec codec) (image.Config, error) {
	rc, err := img.Open(ctx)
	if err != nil {
		return image.Config{}, err
	}
	defer rc.Close()
	cfg, err := dec.header(bufio.NewReader(rc))
	if err != nil {
		return image.Config{}, decodeError(img.Format, "header", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return image.Config{}, ocrerr.Permanent(ocrerr.InvalidImage, "%s of %dx%d pixels", img.Format, cfg.Width, cfg.Height)
	}
	return cfg, nil
}

func (c *Converter) decode(ctx context.Context, img Image, dec codec) (image.Image, error) {
	rc, err := img.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	decoded, err := dec.decode(bufio.NewReaderSize(rc, 256<<10))
	if err != nil {
		return nil, decodeError(img.Format, "image data", err)
	}
	return decoded, nil
}

// decodeError is unsupported_format for a feature the decoder lacks, else
// invalid_image.
func decodeError(format, part string, err error) *ocrerr.Error {
	if unsupportedFeature(err) {
		return ocrerr.Permanent(ocrerr.UnsupportedFormat, "%s uses a feature this worker cannot convert: %v", format, err)
	}
	return ocrerr.Permanent(ocrerr.InvalidImage, "unreadable %s %s", format, part).Wrap(err)
}
