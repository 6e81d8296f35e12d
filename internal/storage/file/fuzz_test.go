package file_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
)

// FuzzKeysStayInRoot: no key, however spelled, makes Put write outside the
// root, and whatever Put accepts is found again by Get and List.
func FuzzKeysStayInRoot(f *testing.F) {
	for _, seed := range []string{"a.jpg", "in/a.jpg", "../x", "in/../../x", "/etc/x", "a//b", "./a", "link/x", ".ocrfs-lock", "a/", "영수증.jpg", "a\x00b"} {
		f.Add(seed)
	}
	parent := f.TempDir()
	root := filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(root, "link")); err != nil {
		f.Fatal(err)
	}
	s, err := file.New(file.Options{Root: root})
	if err != nil {
		f.Fatal(err)
	}
	b := s.Bucket(root)
	f.Fuzz(func(t *testing.T, key string) {
		_, err := b.Put(ctx, key, strings.NewReader("x"), 1, storage.PutOptions{})
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("Put(%q) (err %v) wrote beside the root: %d entries in its parent", key, err, len(entries))
		}
		if err != nil {
			return
		}
		defer b.Delete(ctx, key)
		if got, _ := getString(t, b, key); got != "x" {
			t.Fatalf("Get(%q) = %q after Put", key, got)
		}
		for seg := range strings.SplitSeq(key, "/") {
			if file.Unlisted(seg) {
				return // dot-names and housekeeping are readable, not listed
			}
		}
		if keys := listKeys(t, b, key, ""); len(keys) == 0 || keys[0] != key {
			t.Fatalf("List(%q) = %q, want the key first", key, keys)
		}
	})
}
