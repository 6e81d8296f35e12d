//go:build heic

package pages

import (
	"github.com/gen2brain/heic"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
)

// HEIC decoding uses libheif and libde265 (LGPL-3.0) compiled to WASM and
// run by wazero: no cgo, but LGPL code in the binary, hence the build tag
// (docs/formats.md).
func init() {
	codecs[imageformat.HEIC] = codec{heic.DecodeConfig, heic.Decode}
	delete(noDecoder, imageformat.HEIC)
}
