// Package samples holds the small, real sample documents that `make demo`
// runs through the pipeline. The emulator derives what a document "says"
// from its bytes, so any distinct images will do; these were written once by
// gen.go (deterministic: same seeds, same bytes) and are committed.
//
//	receipts/          receipt (CLOVA OCR), enqueued by prefix: JPEG, PNG, one-page PDF
//	biz-licenses/      biz-license (CLOVA OCR), by prefix: PNG, TIFF
//	id-cards/          id-card at NHN with the authenticity check (--verify)
//	credit-cards/      credit-card at NHN
//	name-cards/        name-card (CLOVA OCR), from a manifest
//	passports/         passport MRZ (CLOVA OCR), from a manifest
//	medical-receipts/  medical-receipt (CLOVA OCR), from a manifest
//	face-compare/      id-card.jpg + selfie.jpg, one pair for CLOVA eKYC face compare
//	bad/corrupt.jpg    a JPEG whose header was overwritten: ends as a failed result
package samples

import "embed"

//go:generate go run gen.go

// FS holds every sample, by the paths above.
//
//go:embed receipts biz-licenses id-cards credit-cards name-cards passports medical-receipts face-compare bad
var FS embed.FS
