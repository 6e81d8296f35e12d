package file_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
)

func benchBucket(b *testing.B) storage.Bucket {
	b.Helper()
	root := b.TempDir()
	s, err := file.New(file.Options{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s.Bucket(root)
}

// BenchmarkPut writes result-sized objects: create-only (a first result)
// and replacing (a re-run), each with fsyncs, lock and metadata.
func BenchmarkPut(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 2<<10)
	opts := storage.PutOptions{ContentType: "application/json", Metadata: map[string]string{"status": "succeeded"}}
	for _, mode := range []string{"create", "replace"} {
		b.Run(mode, func(b *testing.B) {
			bk := benchBucket(b)
			o := opts
			o.IfNoneMatch = mode == "create"
			b.SetBytes(int64(len(body)))
			i := 0
			for b.Loop() {
				key := fmt.Sprintf("out/%06d.json", i)
				if mode == "replace" {
					key = "out/same.json"
					body[0] = byte(i) // different bytes each time: a real replace
				}
				if _, err := bk.Put(ctx, key, bytes.NewReader(body), int64(len(body)), o); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkGet reads a scan-sized object with its metadata.
func BenchmarkGet(b *testing.B) {
	bk := benchBucket(b)
	body := bytes.Repeat([]byte("j"), 512<<10)
	if _, err := bk.Put(ctx, "in/scan.jpg", bytes.NewReader(body), int64(len(body)), storage.PutOptions{ContentType: "image/jpeg"}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rc, _, err := bk.Get(ctx, "in/scan.jpg")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// BenchmarkList lists 10,000 files in 100 directories, in S3's key order.
func BenchmarkList(b *testing.B) {
	bk := benchBucket(b)
	var keys []string
	for d := range 100 {
		for f := range 100 {
			keys = append(keys, fmt.Sprintf("in/%03d/%03d.jpg", d, f))
		}
	}
	for _, key := range keys {
		if _, err := bk.Put(ctx, key, bytes.NewReader(nil), 0, storage.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := bk.List(ctx, "in/", "", func(storage.ObjectInfo) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != len(keys) {
			b.Fatalf("listed %d, want %d", n, len(keys))
		}
	}
	b.ReportMetric(float64(len(keys)), "objects/op")
}
