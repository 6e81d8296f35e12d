// Package memory is an in-memory storage.Store for unit tests. It keeps the
// same contract as the S3 implementation (it passes storagetest's suite), so
// code tested against it behaves the same on S3.
package memory

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Store holds buckets by name; a bucket springs into existence on first use.
type Store struct {
	mu      sync.Mutex
	buckets map[string]*Bucket
}

var _ storage.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{buckets: map[string]*Bucket{}} }

// Bucket returns the named bucket, creating it if needed.
func (s *Store) Bucket(name string) storage.Bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[name]
	if !ok {
		b = NewBucket(name)
		s.buckets[name] = b
	}
	return b
}

type object struct {
	data []byte
	info storage.ObjectInfo
}

// Bucket is one in-memory bucket, safe for concurrent use.
type Bucket struct {
	name    string
	mu      sync.RWMutex
	objects map[string]object
}

var _ storage.Bucket = (*Bucket)(nil)

// NewBucket returns an empty bucket.
func NewBucket(name string) *Bucket { return &Bucket{name: name, objects: map[string]object{}} }

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Get returns a reader over a private copy of the object's bytes.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	obj, err := b.lookup(ctx, "get", key)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	return io.NopCloser(bytes.NewReader(obj.data)), copyInfo(obj.info), nil
}

// Head returns the object's attributes.
func (b *Bucket) Head(ctx context.Context, key string) (storage.ObjectInfo, error) {
	obj, err := b.lookup(ctx, "head", key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	return copyInfo(obj.info), nil
}

func (b *Bucket) lookup(ctx context.Context, op, key string) (object, error) {
	if err := ctx.Err(); err != nil {
		return object{}, err
	}
	b.mu.RLock()
	obj, ok := b.objects[key]
	b.mu.RUnlock()
	if !ok {
		return object{}, fmt.Errorf("memory %s %s: %w", op, b.uri(key), storage.ErrNotFound)
	}
	return obj, nil
}

// Put reads r fully, then stores it; the ETag is the quoted MD5, as S3's
// single-part uploads have.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("memory put %s: read body: %w", b.uri(key), err)
	}
	if size >= 0 && int64(len(data)) != size {
		return storage.ObjectInfo{}, fmt.Errorf("memory put %s: body has %d bytes, size says %d", b.uri(key), len(data), size)
	}
	sum := md5.Sum(data)
	contentType := opts.ContentType
	if contentType == "" {
		contentType = "application/octet-stream" // what S3 stores when none is given
	}
	info := storage.ObjectInfo{
		Key:          key,
		Size:         int64(len(data)),
		ETag:         `"` + hex.EncodeToString(sum[:]) + `"`,
		ContentType:  contentType,
		LastModified: time.Now().UTC().Truncate(time.Second),
		Metadata:     storage.LowerKeys(opts.Metadata),
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	current, exists := b.objects[key]
	if opts.IfNoneMatch && exists {
		return storage.ObjectInfo{}, fmt.Errorf("memory put %s: object exists: %w", b.uri(key), storage.ErrPreconditionFailed)
	}
	if opts.IfMatch != "" && (!exists || current.info.ETag != opts.IfMatch) {
		return storage.ObjectInfo{}, fmt.Errorf("memory put %s: etag mismatch: %w", b.uri(key), storage.ErrPreconditionFailed)
	}
	b.objects[key] = object{data: data, info: info}
	return copyInfo(info), nil
}

// List visits matching keys in byte order, like S3's UTF-8 binary order. It
// snapshots the keys first so fn may call back into the bucket.
func (b *Bucket) List(ctx context.Context, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	b.mu.RLock()
	var infos []storage.ObjectInfo
	for key, obj := range b.objects {
		if strings.HasPrefix(key, prefix) && key > startAfter {
			info := obj.info
			// ListObjectsV2 carries neither metadata nor content type.
			info.Metadata, info.ContentType = nil, ""
			infos = append(infos, info)
		}
	}
	b.mu.RUnlock()
	slices.SortFunc(infos, func(x, y storage.ObjectInfo) int { return strings.Compare(x.Key, y.Key) })
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the object if present.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.objects, key)
	b.mu.Unlock()
	return nil
}

func (b *Bucket) uri(key string) string { return "s3://" + b.name + "/" + key }

func copyInfo(info storage.ObjectInfo) storage.ObjectInfo {
	info.Metadata = maps.Clone(info.Metadata)
	return info
}
