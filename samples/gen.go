//go:build ignore

// gen writes the sample documents. Run it with `go generate ./samples`.
package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

func main() {
	files := map[string][]byte{
		// Receipts are tall, cards are card-shaped; sizes stay a few KB.
		"receipts/receipt-1.jpg":                 testimages.JPEG(101, 64, 144, nil),
		"receipts/receipt-2.png":                 testimages.PNG(102, 64, 144, nil),
		"receipts/receipt-3.pdf":                 testimages.PDF(1, 103),
		"biz-licenses/biz-license-1.png":         testimages.PNG(201, 96, 128, nil),
		"biz-licenses/biz-license-2.tiff":        testimages.TIFF(202, 1),
		"id-cards/id-card-1.jpg":                 testimages.JPEG(301, 128, 80, nil),
		"id-cards/id-card-2.png":                 testimages.PNG(302, 128, 80, nil),
		"credit-cards/card-1.png":                testimages.PNG(401, 128, 80, nil),
		"credit-cards/card-2.jpg":                testimages.JPEG(402, 128, 80, nil),
		"name-cards/name-card-1.png":             testimages.PNG(501, 112, 64, nil),
		"name-cards/name-card-2.jpg":             testimages.JPEG(502, 112, 64, nil),
		"passports/passport-1.jpg":               testimages.JPEG(601, 128, 88, nil),
		"medical-receipts/medical-receipt-1.png": testimages.PNG(701, 96, 136, nil),
		"face-compare/selfie.jpg":                testimages.JPEG(802, 64, 80, nil),
		"face-compare/id-card.jpg":               matchingCard(),
		"bad/corrupt.jpg":                        corrupt(testimages.JPEG(901, 64, 64, nil)),
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := files[name]
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-40s %6d bytes\n", name, len(data))
	}
}

// matchingCard picks the first card image whose face the emulator finds
// similar to the selfie comfortably above the default matchThreshold (0.8),
// so the demo shows a match.
func matchingCard() []byte {
	for seed := int64(801); ; seed += 1000 {
		img := testimages.JPEG(seed, 128, 80, nil)
		if emulator.Derive(img).Similarity >= 0.85 {
			return img
		}
	}
}

// corrupt overwrites the start of a file, as a broken upload would: no
// known image format begins with these bytes.
func corrupt(b []byte) []byte {
	for i := 0; i < 16 && i < len(b); i++ {
		b[i] = 0
	}
	return b
}
