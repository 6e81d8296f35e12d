package storage

import (
	"context"
	"fmt"
	"io"
)

// Router is the Store a process uses when it serves both schemes: bucket
// names that are file roots (they begin with "/", see ParseURIRoot) go to
// File, every other name to S3. A scheme whose store is nil hands out
// buckets that fail every call with an error saying what to configure.
type Router struct {
	S3   Store
	File Store
}

var _ Store = Router{}

// Bucket returns the named bucket from the store its name belongs to.
func (r Router) Bucket(name string) Bucket {
	if IsFileBucket(name) {
		if r.File == nil {
			return Unavailable(name, fmt.Errorf("file storage is not configured (storage.fileRoot)"))
		}
		return r.File.Bucket(name)
	}
	if r.S3 == nil {
		return Unavailable(name, fmt.Errorf("s3 storage is not configured"))
	}
	return r.S3.Bucket(name)
}

// Unavailable returns a bucket whose every call fails with err (List and
// Delete too), for names a store cannot serve. The error is permanent:
// storage.IsTransient says false unless err itself is transient.
func Unavailable(name string, err error) Bucket { return unavailable{name: name, err: err} }

type unavailable struct {
	name string
	err  error
}

func (u unavailable) Name() string { return u.name }

func (u unavailable) Get(context.Context, string) (io.ReadCloser, ObjectInfo, error) {
	return nil, ObjectInfo{}, u.fail("get")
}

func (u unavailable) Head(context.Context, string) (ObjectInfo, error) {
	return ObjectInfo{}, u.fail("head")
}

func (u unavailable) Put(context.Context, string, io.Reader, int64, PutOptions) (ObjectInfo, error) {
	return ObjectInfo{}, u.fail("put")
}

func (u unavailable) List(context.Context, string, string, func(ObjectInfo) error) error {
	return u.fail("list")
}

func (u unavailable) Delete(context.Context, string) error { return u.fail("delete") }

func (u unavailable) fail(op string) error { return fmt.Errorf("%s bucket %q: %w", op, u.name, u.err) }
