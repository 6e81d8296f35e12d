package pages

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestSplitCorpus splits every PDF of a folder and checks each page file
// with poppler's pdfinfo, an independent reader: one page, readable. It
// also counts how many pages a JPEG/PNG-only vendor (NHN) could be sent.
// It runs only when asked:
//
//	OCR_PDF_CORPUS=$(go env GOMODCACHE)/github.com/pdfcpu/pdfcpu@v0.11.1 \
//	  go test -run TestSplitCorpus -v -timeout 30m ./internal/pages/
func TestSplitCorpus(t *testing.T) {
	root := os.Getenv("OCR_PDF_CORPUS")
	if root == "" {
		t.Skip("set OCR_PDF_CORPUS to a folder of PDFs")
	}
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo (poppler-utils) not installed")
	}
	onePage := regexp.MustCompile(`(?m)^Pages:\s+1$`)
	var files, multi, pages, images int
	refused := map[string]int{}
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || filepath.Ext(path) != ".pdf" {
			return nil
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		doc, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), "pdf", SplitOptions{TempDir: dir})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
			return nil
		}
		defer doc.Close()
		if doc.Count > 1 {
			multi++
		}
		for i, page := range doc.Pages {
			pages++
			file := filepath.Join(dir, "page.pdf")
			if err := os.WriteFile(file, readAll(t, page), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("pdfinfo", file).CombinedOutput(); err != nil || !onePage.Match(out) {
				t.Errorf("%s page %d: pdfinfo: %v\n%s", filepath.Base(path), i+1, err, out)
			}
			p, err := (&Converter{TempDir: dir, MaxPixels: 100_000_000}).Prepare(context.Background(), page, nhn)
			if err != nil {
				reason := err.Error()
				refused[reason[:min(len(reason), 90)]]++
				continue
			}
			images++
			p.Close()
		}
		return nil
	})
	t.Logf("%d PDFs (%d multi-page), %d pages, each one page for pdfinfo; for a jpg/png vendor %d pages became images", files, multi, pages, images)
	for reason, n := range refused {
		t.Logf("%5d refused: %s", n, reason)
	}
}
