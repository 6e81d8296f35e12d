package imageformat_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
)

// TestPageCountCorpus compares PageCount with poppler's pdfinfo, an
// independent parser, over a folder of real PDFs. It runs only when asked:
//
//	OCR_PDF_CORPUS=$(go env GOMODCACHE)/github.com/pdfcpu/pdfcpu@v0.11.1 \
//	  go test -run TestPageCountCorpus -v ./internal/imageformat/
//
// (pdfcpu's 510 sample PDFs; needs pdfinfo from poppler-utils.)
func TestPageCountCorpus(t *testing.T) {
	root := os.Getenv("OCR_PDF_CORPUS")
	if root == "" {
		t.Skip("set OCR_PDF_CORPUS to a folder of PDFs")
	}
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo (poppler-utils) not installed")
	}
	pagesLine := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)
	var files, multi, compared int
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || filepath.Ext(path) != ".pdf" {
			return nil
		}
		files++
		out, _ := exec.Command("pdfinfo", path).Output()
		m := pagesLine.FindSubmatch(out)
		if m == nil {
			return nil // poppler cannot read it either
		}
		want, _ := strconv.Atoi(string(m[1]))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := imageformat.PageCount(bytes.NewReader(data), int64(len(data)), "pdf")
		if err != nil || got != want {
			t.Errorf("%s: PageCount = %d, %v; pdfinfo says %d", filepath.Base(path), got, err, want)
		}
		compared++
		if want > 1 {
			multi++
		}
		return nil
	})
	t.Logf("%d PDFs, %d read by pdfinfo (%d multi-page) and compared", files, compared, multi)
}
