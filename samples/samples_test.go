package samples

import (
	"io/fs"
	"path"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
)

// TestSamplesAreRealImages: every sample is a small file in the format its
// name says, except the one made corrupt on purpose.
func TestSamplesAreRealImages(t *testing.T) {
	n := 0
	err := fs.WalkDir(FS, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		n++
		b, err := FS.ReadFile(p)
		if err != nil {
			return err
		}
		if len(b) > 16<<10 {
			t.Errorf("%s: %d bytes; samples stay a few KB", p, len(b))
		}
		format, ok := imageformat.Detect(b)
		if p == "bad/corrupt.jpg" {
			if ok {
				t.Errorf("%s is detected as %s; it must be unrecognizable", p, format)
			}
			return nil
		}
		want := path.Ext(p)[1:]
		if !ok || format != want {
			t.Errorf("%s: detected %q (%v), want %q", p, format, ok, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 16 {
		t.Errorf("%d samples, want 16", n)
	}
}
