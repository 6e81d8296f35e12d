package storage_test

import (
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// FuzzParseURIRoot: whatever parses as a file URI stays under its root, has
// one spelling (String parses back to the same URI) and a key without
// "..", "." or empty segments.
func FuzzParseURIRoot(f *testing.F) {
	for _, seed := range []string{"file:///data/in/a.jpg", "file:///data/", "file:///", "file:///data/../x", "file://h/x", "file:///a//b", "s3://b/k"} {
		f.Add(seed, "/data")
		f.Add(seed, "/")
	}
	f.Fuzz(func(t *testing.T, s, root string) {
		u, err := storage.ParseURIRoot(s, root)
		if err != nil || !u.IsFile() {
			return
		}
		again, err := storage.ParseURIRoot(u.String(), root)
		if err != nil || again != u {
			t.Fatalf("%q parsed to %+v, whose String %q parses to %+v (%v)", s, u, u.String(), again, err)
		}
		if strings.HasPrefix(u.Key, "/") {
			t.Fatalf("%q: key %q is absolute", s, u.Key)
		}
		for seg := range strings.SplitSeq(strings.TrimSuffix(u.Key, "/"), "/") {
			if (seg == "" && u.Key != "") || seg == "." || seg == ".." {
				t.Fatalf("%q: key %q has segment %q", s, u.Key, seg)
			}
		}
	})
}
