// Package storage is the object-storage boundary: a small Bucket interface
// with its contract in the doc comments, implementations for S3
// (aws-sdk-go-v2, any S3-compatible store), a directory tree (file://) and
// memory, a Router that picks S3 or file by bucket name, and one acceptance
// suite every implementation passes.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ObjectInfo describes one object.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string // as the store returns it, quotes included
	ContentType  string
	LastModified time.Time
	Metadata     map[string]string // user metadata, keys lower-case (Head/Get only; List leaves it nil)
}

// PutOptions tunes a Put.
type PutOptions struct {
	ContentType string
	Metadata    map[string]string // user metadata; keys lower-case ASCII
	// IfNoneMatch: create only; fail with ErrPreconditionFailed if the key exists.
	IfNoneMatch bool
	// IfMatch: replace only the object with this ETag; fail with
	// ErrPreconditionFailed otherwise.
	IfMatch string
}

// Errors every implementation returns (wrapped) so callers can decide with errors.Is.
var (
	ErrNotFound           = errors.New("object not found")
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrInvalidKey: this store cannot hold an object by that key (a file
	// store: a path it cannot name, or one that collides with a directory).
	// Retrying cannot help.
	ErrInvalidKey = errors.New("key not valid for this store")
)

// Bucket is one bucket.
type Bucket interface {
	// Name is the bucket's name.
	Name() string
	// Get opens an object for streaming. The caller closes the reader.
	// A missing object is ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// Head returns an object's attributes and metadata; ErrNotFound if missing.
	Head(ctx context.Context, key string) (ObjectInfo, error)
	// Put writes an object from r, streaming. size may be -1 if unknown.
	// Put without preconditions is idempotent: it replaces whatever was there.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error)
	// List calls fn for every object whose key starts with prefix, in key
	// order, across all pages, starting after startAfter ("" for the
	// beginning). It stops at fn's first error and returns it.
	List(ctx context.Context, prefix, startAfter string, fn func(ObjectInfo) error) error
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// Store hands out buckets by name.
type Store interface {
	Bucket(name string) Bucket
}

// URI is a parsed s3://bucket/key or file:///path reference. For a file
// URI, Bucket is the file store's root directory (it begins with "/", which
// no S3 bucket name does) and Key the path below it; see ParseURIRoot.
type URI struct {
	Bucket string
	Key    string // may be "" or end in "/" for a prefix
}

// ParseURI parses s3://bucket/key, or file:///abs/path with this process's
// file root (SetFileRoot; default "/").
func ParseURI(s string) (URI, error) { return ParseURIRoot(s, FileRoot()) }

func parseS3URI(s string) (URI, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return URI{}, fmt.Errorf("%q: not an s3:// or file:// URI", s)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return URI{}, fmt.Errorf("%q: no bucket name", s)
	}
	return URI{Bucket: bucket, Key: key}, nil
}

// IsPrefix reports whether the URI names a prefix (empty key or trailing slash).
func (u URI) IsPrefix() bool { return u.Key == "" || strings.HasSuffix(u.Key, "/") }

func (u URI) String() string {
	if u.IsFile() {
		return fileURIString(u)
	}
	return "s3://" + u.Bucket + "/" + u.Key
}

// LowerKeys returns user metadata with lower-case keys (S3 folds them; so
// must every implementation), or nil when there is none.
func LowerKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// AllowList limits the buckets tasks may read from and write to
// (storage.buckets in the configuration). An empty list allows every bucket.
type AllowList struct {
	Read  []string `yaml:"read"`
	Write []string `yaml:"write"`
}

// CanRead reports whether sources may be read from bucket.
func (a AllowList) CanRead(bucket string) bool { return allowed(a.Read, bucket) }

// CanWrite reports whether results may be written to bucket.
func (a AllowList) CanWrite(bucket string) bool { return allowed(a.Write, bucket) }

func allowed(list []string, bucket string) bool {
	if len(list) == 0 {
		return true
	}
	for _, b := range list {
		if b == bucket {
			return true
		}
	}
	return false
}
