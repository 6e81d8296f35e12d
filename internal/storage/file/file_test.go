package file_test

import (
	"os"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage/file"
	"github.com/ocrbatch/ocrworker/internal/storage/storagetest"
)

// newStore opens a store rooted in a fresh temporary directory: under
// $OCRFS_TEST_DIR when set, so the suite can check a real NFS or NAS mount.
func newStore(t *testing.T, opts file.Options) (*file.Store, string) {
	t.Helper()
	if opts.Root == "" {
		opts.Root = testDir(t)
	}
	s, err := file.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, opts.Root
}

func TestAcceptance(t *testing.T) {
	s, root := newStore(t, file.Options{})
	storagetest.AcceptanceTest(t, s.Bucket(root))
}

// TestAcceptanceNoXattr runs the suite with metadata in the hidden-directory
// fallback, as on a filesystem without user xattrs.
func TestAcceptanceNoXattr(t *testing.T) {
	s, root := newStore(t, file.Options{NoXattr: true})
	storagetest.AcceptanceTest(t, s.Bucket(root))
}

func testDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("OCRFS_TEST_DIR")
	if base == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp(base, "ocrfs-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
