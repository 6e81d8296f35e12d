package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

func TestParseURIRootFile(t *testing.T) {
	for _, tc := range []struct {
		uri, root  string
		bucket     string
		key        string
		prefix     bool
		roundTrips string // String(), when it differs from uri
	}{
		{uri: "file:///data/in/a.jpg", root: "/", bucket: "/", key: "data/in/a.jpg"},
		{uri: "file:///data/in/", root: "/", bucket: "/", key: "data/in/", prefix: true},
		{uri: "file:///", root: "/", bucket: "/", key: "", prefix: true},
		{uri: "file:///data/in/a.jpg", root: "/data", bucket: "/data", key: "in/a.jpg"},
		{uri: "file:///data/out/", root: "/data/", bucket: "/data", key: "out/", prefix: true},
		{uri: "file:///data/", root: "/data", bucket: "/data", key: "", prefix: true},
		{uri: "file:///data", root: "/data", bucket: "/data", key: "", prefix: true, roundTrips: "file:///data/"},
		{uri: "file:///data/in/a.jpg", root: "", bucket: "/", key: "data/in/a.jpg"},
		// Taken literally, as s3:// keys are: no percent-decoding.
		{uri: "file:///d/영수증 #1%20(a).jpg", root: "/d", bucket: "/d", key: "영수증 #1%20(a).jpg"},
	} {
		u, err := storage.ParseURIRoot(tc.uri, tc.root)
		if err != nil {
			t.Errorf("ParseURIRoot(%q, %q): %v", tc.uri, tc.root, err)
			continue
		}
		if u.Bucket != tc.bucket || u.Key != tc.key || u.IsPrefix() != tc.prefix || !u.IsFile() {
			t.Errorf("ParseURIRoot(%q, %q) = %+v (prefix %v, file %v), want bucket %q key %q prefix %v",
				tc.uri, tc.root, u, u.IsPrefix(), u.IsFile(), tc.bucket, tc.key, tc.prefix)
		}
		want := tc.uri
		if tc.roundTrips != "" {
			want = tc.roundTrips
		}
		if u.String() != want {
			t.Errorf("ParseURIRoot(%q, %q).String() = %q, want %q", tc.uri, tc.root, u.String(), want)
		}
	}
}

func TestParseURIRootRejects(t *testing.T) {
	for _, tc := range []struct{ uri, root, want string }{
		{"file://host/x", "/", `name no host ("host")`},
		{"file://localhost/x", "/", "name no host"},
		{"file:relative/x", "/", "file:///absolute/path"},
		{"file:/abs/x", "/", "file:///absolute/path"},
		{"file://", "/", "file:///absolute/path"},
		{"file:///data/../etc/passwd", "/", `".." segment`},
		{"file:///data/./in", "/", `"." segment`},
		{"file:///data//in", "/", "empty segment"},
		{"file:///etc/passwd", "/data", "outside the file root /data"},
		{"file:///database/x", "/data", "outside the file root /data"}, // a sibling sharing the string prefix
		{"file:///x", "data", "not an absolute path"},
		{"ftp://host/x", "/", "not an s3:// or file:// URI"},
	} {
		_, err := storage.ParseURIRoot(tc.uri, tc.root)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURIRoot(%q, %q) error = %v, want one saying %q", tc.uri, tc.root, err, tc.want)
		}
	}
}

// TestParseURIKeepsS3 pins that s3:// parsing is what it was.
func TestParseURIKeepsS3(t *testing.T) {
	u, err := storage.ParseURI("s3://in/scans/a.jpg")
	if err != nil || u.Bucket != "in" || u.Key != "scans/a.jpg" || u.IsFile() || u.String() != "s3://in/scans/a.jpg" {
		t.Errorf("ParseURI(s3://in/scans/a.jpg) = %+v, %v", u, err)
	}
	if _, err := storage.ParseURIRoot("s3:///x", "/data"); err == nil {
		t.Error("s3:///x (no bucket) parsed")
	}
	f, err := storage.ParseURI("file:///data/a.jpg")
	if err != nil || f.Bucket != "/" || f.Key != "data/a.jpg" {
		t.Errorf("ParseURI(file:///data/a.jpg) = %+v, %v; want the default root /", f, err)
	}
}

func TestRouterPicksStoreByBucketName(t *testing.T) {
	ctx := context.Background()
	s3, files := memory.New(), memory.New()
	r := storage.Router{S3: s3, File: files}
	put := func(b storage.Bucket) {
		t.Helper()
		if _, err := b.Put(ctx, "k", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(r.Bucket("in"))
	put(r.Bucket("/data"))
	if _, err := s3.Bucket("in").Head(ctx, "k"); err != nil {
		t.Errorf("s3 bucket name did not reach the S3 store: %v", err)
	}
	if _, err := files.Bucket("/data").Head(ctx, "k"); err != nil {
		t.Errorf("file root did not reach the file store: %v", err)
	}
	if _, err := s3.Bucket("/data").Head(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("file root reached the S3 store: %v", err)
	}

	_, err := storage.Router{S3: s3}.Bucket("/data").Head(ctx, "k")
	if err == nil || !strings.Contains(err.Error(), "storage.fileRoot") || storage.IsTransient(err) {
		t.Errorf("router without file store: error = %v, want a permanent one naming storage.fileRoot", err)
	}
	if err := (storage.Router{File: files}).Bucket("in").List(ctx, "", "", func(storage.ObjectInfo) error { return nil }); err == nil {
		t.Error("router without S3 store listed an S3 bucket")
	}
}
