package pages

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
)

func TestZZSplitCorpus(t *testing.T) {
	root := os.Getenv("OCR_PDF_CORPUS")
	var files, split, failed, pages, bad, scans, converted, refused int
	reasons := map[string]int{}
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || filepath.Ext(path) != ".pdf" {
			return nil
		}
		files++
		data, _ := os.ReadFile(path)
		doc, err := Split(context.Background(), bytes.NewReader(data), int64(len(data)), "pdf", SplitOptions{TempDir: t.TempDir(), MaxPages: 1000})
		if err != nil {
			failed++
			t.Logf("%s: %v", filepath.Base(path), err)
			return nil
		}
		defer doc.Close()
		if doc.Count > 1 {
			split++
		}
		for i, p := range doc.Pages {
			pages++
			b := readAll(t, p)
			n, err := imageformat.PageCount(bytes.NewReader(b), int64(len(b)), "pdf")
			if err == nil {
				f := filepath.Join(t.TempDir(), "p.pdf")
				os.WriteFile(f, b, 0o600)
				out, perr := exec.Command("pdfinfo", f).CombinedOutput()
				if perr != nil || !regexp.MustCompile(`(?m)^Pages:\s+1$`).Match(out) {
					t.Logf("%s page %d: pdfinfo: %v %s", filepath.Base(path), i+1, perr, out)
					bad++
				}
			}
			if err != nil || n != 1 {
				bad++
				t.Logf("%s page %d: %d %v", filepath.Base(path), i+1, n, err)
			}
			if i > 2 {
				continue
			}
			c := &Converter{TempDir: t.TempDir(), MaxPixels: 100e6}
			pr, err := c.Prepare(context.Background(), p, nhn)
			if err != nil {
				refused++
				e := err.Error()
				if len(e) > 110 {
					e = e[:110]
				}
				reasons[e]++
				continue
			}
			converted++
			if pr.Format == "jpg" || pr.Format == "png" {
				scans++
			}
			pr.Close()
		}
		return nil
	})
	t.Logf("files %d split %d failed %d pages %d bad %d; prepare for nhn: ok %d refused %d", files, split, failed, pages, bad, converted, refused)
	for r, n := range reasons {
		t.Logf("%4d %s", n, r)
	}
}
