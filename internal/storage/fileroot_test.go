package storage_test

import (
	"testing"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// The contract's example: with fileRoot /data, file:///data/in/a.jpg and
// --out file:///data/out/ give /data/out/in/a.jpg.json.
func TestFileRootCutsKeysForTheResultLayout(t *testing.T) {
	prev, err := storage.SetFileRoot("/data/")
	if err != nil {
		t.Fatal(err)
	}
	defer storage.SetFileRoot(prev)
	if storage.FileRoot() != "/data" {
		t.Errorf("FileRoot() = %q", storage.FileRoot())
	}
	src, err := storage.ParseURI("file:///data/in/a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	out, err := storage.ParseURI("file:///data/out/")
	if err != nil {
		t.Fatal(err)
	}
	res := storage.URI{Bucket: out.Bucket, Key: layout.ResultKey(out.Key, src.Key)}
	if src.Bucket != "/data" || res.String() != "file:///data/out/in/a.jpg.json" {
		t.Errorf("source %+v, result %s; want file:///data/out/in/a.jpg.json", src, res)
	}
	if _, err := storage.ParseURI("file:///srv/a.jpg"); err == nil {
		t.Error("a path outside the root parsed")
	}
	if _, err := storage.SetFileRoot("data"); err == nil || storage.FileRoot() != "/data" {
		t.Errorf("relative root: %v, root now %q", err, storage.FileRoot())
	}
}
