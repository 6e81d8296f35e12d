package pages

import (
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
)

// codec decodes one format; header reads only the dimensions.
type codec struct {
	header func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecs are the formats this worker can decode. GIF decodes to its first
// frame. HEIC is added by heic.go when built with -tags heic.
var codecs = map[string]codec{
	imageformat.JPG:  {jpeg.DecodeConfig, jpeg.Decode},
	imageformat.PNG:  {png.DecodeConfig, png.Decode},
	imageformat.GIF:  {gif.DecodeConfig, gif.Decode},
	imageformat.BMP:  {bmp.DecodeConfig, bmp.Decode},
	imageformat.WebP: {webp.DecodeConfig, webp.Decode},
	imageformat.TIFF: {tiff.DecodeConfig, tiff.Decode},
}

// noDecoder says why a format has no codec.
var noDecoder = map[string]string{
	imageformat.HEIC: "HEIC support not built in (build with -tags heic, see docs/formats.md)",
	imageformat.AVIF: "AVIF is not supported (no decoder)",
}

// unsupportedFeature reports whether a decode error means a valid file
// using a feature the decoder lacks (JPEG-in-TIFF, arithmetic-coded
// JPEG, 16-bit BMP...), which is unsupported_format, not a broken image.
func unsupportedFeature(err error) bool {
	var (
		t tiff.UnsupportedError
		j jpeg.UnsupportedError
		p png.UnsupportedError
	)
	return errors.As(err, &t) || errors.As(err, &j) || errors.As(err, &p) || errors.Is(err, bmp.ErrUnsupported)
}
