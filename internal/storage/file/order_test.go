package file_test

import (
	"slices"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// trickyKeys sort differently as whole keys (S3's byte order) and as a
// per-directory walk by name: '-' (0x2d) and '.' (0x2e) sort before '/'
// (0x2f), '0' after it, and multi-byte UTF-8 after ASCII.
var trickyKeys = []string{
	"x/a-b", "x/a.b", "x/a/b", "x/a/b-c", "x/a/b.c", "x/a/b0", "x/a/bb/c", "x/a/c/d",
	"x/a0", "x/a!", "x/a b", "x/a~", "x/A", "x/ab", "x/a+b", "x/a,b", "x/a%2Fb",
	"x/-", "x/a.dot", "x/a.dotdir/y", "x/가", "x/é", "x/a/é/z", "x/a/가/z", "x/z",
	"x-", "x.", "x0", "y/1", "x/a-/q", "x/a./q", "x/a-b-/r",
}

// TestListOrderMatchesS3 compares every listing of the file store with the
// memory store's, which sorts whole keys by bytes as S3 does, over many
// prefixes and start points.
func TestListOrderMatchesS3(t *testing.T) {
	s, root := newStore(t, file.Options{})
	fb := s.Bucket(root)
	mb := memory.NewBucket("order")
	for _, key := range trickyKeys {
		putString(t, fb, key, key, storage.PutOptions{})
		putString(t, mb, key, key, storage.PutOptions{})
	}
	sorted := slices.Sorted(slices.Values(trickyKeys))
	if got := listKeys(t, fb, "", ""); !slices.Equal(got, sorted) {
		t.Fatalf("List(all) =\n%q\nwant byte order\n%q", got, sorted)
	}

	prefixes := []string{"", "x", "x/", "x/a", "x/a/", "x/a/b", "x/a-", "x/a.", "x/a/b/", "x/a.d", "x/가", "y", "z", "x/a/bb/"}
	starts := append([]string{"", "x/a", "x/a/", "x/a/b", "x/a/bb", "x/a/b~", "x/a/c", "x/a/c/", "x/a-", "x/a/z", "x/~", "x0", "w", "zzz"}, trickyKeys...)
	for _, prefix := range prefixes {
		for _, after := range starts {
			want := listKeys(t, mb, prefix, after)
			if got := listKeys(t, fb, prefix, after); !slices.Equal(got, want) {
				t.Errorf("List(%q, after %q) =\n%q\nwant (memory store, S3's order)\n%q", prefix, after, got, want)
			}
		}
	}
}

// TestListReadsOnlyDirectoriesOnTheWay: a listing opens the prefix's
// directory, not the root, and skips subtrees wholly before startAfter, so
// a scan that resumes deep in a big tree reads only what lies ahead.
func TestListReadsOnlyDirectoriesOnTheWay(t *testing.T) {
	s, root := newStore(t, file.Options{})
	fb := s.Bucket(root).(*file.Bucket)
	for _, key := range []string{"in/2026/01/a.jpg", "in/2026/02/a.jpg", "in/2026/03/a.jpg", "in/2026/03/b.jpg", "in/2027/01/a.jpg", "other/x.jpg"} {
		putString(t, fb, key, key, storage.PutOptions{})
	}
	var read []string
	file.OnReadDir(fb, func(dir string) { read = append(read, dir) })

	got := listKeys(t, fb, "in/2026/", "in/2026/03/a.jpg")
	if want := []string{"in/2026/03/b.jpg"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if want := []string{"in/2026", "in/2026/03"}; !slices.Equal(read, want) {
		t.Errorf("directories read = %q, want only %q", read, want)
	}

	read = nil
	if got := listKeys(t, fb, "in/2026/0", "in/2026/02/b"); len(got) != 2 {
		t.Errorf("List(in/2026/0 after in/2026/02/b) = %q, want the two in 03", got)
	}
	if want := []string{"in/2026", "in/2026/02", "in/2026/03"}; !slices.Equal(read, want) {
		t.Errorf("directories read = %q, want %q", read, want)
	}
}
