package pages_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/ocrbatch/ocrworker/internal/pages"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// A handler's view: spool the source, split it, prepare each page for the
// vendor's formats, send, clean up.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	converter := &pages.Converter{Budget: pages.NewBudget(512 << 20), MaxPixels: 100_000_000, TempDir: dir}

	src, err := pages.SpoolSource(bytes.NewReader(testimages.TIFF(1, 3)), dir, 256<<20)
	if err != nil {
		panic(err)
	}
	defer src.Close()
	doc, err := pages.Split(ctx, src, src.Size, "tiff", pages.SplitOptions{MaxPages: 50, TempDir: dir, Budget: converter.Budget})
	if err != nil {
		panic(err) // an *ocrerr.Error: too_many_pages, unsupported_format, invalid_image
	}
	defer doc.Close()
	for i, page := range doc.Pages {
		p, err := converter.Prepare(ctx, page, []string{"jpg", "png"}) // NHN's formats
		if err != nil {
			panic(err)
		}
		fmt.Printf("page %d of %d: send %s (converted: %v)\n", i+1, doc.Count, p.Format, p.Converted)
		p.Close()
	}
	// Output:
	// page 1 of 3: send png (converted: true)
	// page 2 of 3: send png (converted: true)
	// page 3 of 3: send png (converted: true)
}
