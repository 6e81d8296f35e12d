package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// TestFileURIsThroughRouter walks the example end to end at the
// storage layer: with fileRoot /data, the source file:///data/in/a.jpg and
// the output file:///data/out/ give the result /data/out/in/a.jpg.json.
func TestFileURIsThroughRouter(t *testing.T) {
	fs, root := newStore(t, file.Options{})
	s3 := memory.New()
	router := storage.Router{S3: s3, File: fs}
	writeFile(t, filepath.Join(root, "in/a.jpg"), "jpeg bytes")

	src, err := storage.ParseURIRoot("file://"+root+"/in/a.jpg", root)
	if err != nil {
		t.Fatal(err)
	}
	out, err := storage.ParseURIRoot("file://"+root+"/out/", root)
	if err != nil {
		t.Fatal(err)
	}
	if src.Key != "in/a.jpg" || out.Key != "out/" {
		t.Fatalf("keys %q and %q, want the paths below the root", src.Key, out.Key)
	}
	body, info := getString(t, router.Bucket(src.Bucket), src.Key)
	if body != "jpeg bytes" || info.ContentType != "image/jpeg" {
		t.Errorf("source = %q (%s)", body, info.ContentType)
	}
	resultKey := out.Key + src.Key + ".json" // tasks.ResultKey's rule
	putString(t, router.Bucket(out.Bucket), resultKey, "{}", storage.PutOptions{IfNoneMatch: true})
	if got, err := os.ReadFile(filepath.Join(root, "out/in/a.jpg.json")); err != nil || string(got) != "{}" {
		t.Errorf("result file: %q, %v", got, err)
	}
	if keys := listKeys(t, s3.Bucket(out.Bucket), "", ""); len(keys) != 0 {
		t.Errorf("the S3 store got %q", keys)
	}

	// A URI parsed with another root reaches no file.
	other, _ := storage.ParseURI("file://" + root + "/in/a.jpg") // root "/"
	if _, err := router.Bucket(other.Bucket).Head(ctx, other.Key); err == nil {
		t.Error("a URI parsed with root / read through a store rooted elsewhere")
	}
}
