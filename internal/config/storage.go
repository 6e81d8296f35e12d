package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// File storage (storage.fileRoot) and what the allow-lists mean for it.
//
// A file:// URI's bucket is the file root itself (storage.ParseURIRoot), so
// the allow-lists treat it as one bucket named by its path: with
// storage.buckets.read (or write) set, file:// sources (or outputs) are
// allowed only when the list names the root ("/data"). An operator who
// locked tasks to some S3 buckets does not get the whole filesystem opened
// by an upgrade; without lists, the root itself is the allow-list.

// FileRootDefault is storage.fileRoot when not set.
const FileRootDefault = "/"

// Root is storage.fileRoot, cleaned, "/" when not set.
func (s Storage) Root() string {
	if s.FileRoot == "" {
		return FileRootDefault
	}
	return s.FileRoot
}

// ParseURI parses an s3:// or file:// URI with this configuration's file
// root, for checks made before the process's root is set (schedules).
func (c *Config) ParseURI(s string) (storage.URI, error) {
	return storage.ParseURIRoot(s, c.Storage.Root())
}

// validateFileRoot checks storage.fileRoot: absolute, an existing
// directory. It is cleaned in place (no trailing slash), the form file
// buckets are named by.
func (c *Config) validateFileRoot() error {
	if c.Storage.FileRoot == "" {
		return nil
	}
	const key = "storage.fileRoot"
	root, err := storage.CleanFileRoot(c.Storage.FileRoot)
	if err != nil {
		return &Error{Key: key, Msg: fmt.Sprintf("%q: not an absolute path (write it like /data)", c.Storage.FileRoot)}
	}
	fi, err := os.Stat(root)
	switch {
	case os.IsNotExist(err):
		return &Error{Key: key, Msg: fmt.Sprintf("%s does not exist (create it, or mount the share there)", root)}
	case err != nil:
		return &Error{Key: key, Msg: fmt.Sprintf("%s: %v", root, unwrapPath(err))}
	case !fi.IsDir():
		return &Error{Key: key, Msg: fmt.Sprintf("%s is not a directory", root)}
	}
	c.Storage.FileRoot = root
	return nil
}

// allowEntry checks one storage.buckets entry, an S3 bucket name or the
// file root (its path, equal to storage.fileRoot), and returns it in the
// form bucket names take.
func (c *Config) allowEntry(key, b string) (string, error) {
	root := c.Storage.Root()
	if strings.HasPrefix(b, "file://") {
		return b, &Error{Key: key, Msg: fmt.Sprintf("%q: name the file root by its path (%s), not as a URI", b, root)}
	}
	if storage.IsFileBucket(b) {
		if clean, err := storage.CleanFileRoot(b); err == nil && clean == root {
			return clean, nil
		}
		return b, &Error{Key: key, Msg: fmt.Sprintf("%q: a path here must be storage.fileRoot (%s): file:// URIs have one bucket, the root", b, root)}
	}
	if b == "" || strings.ContainsAny(b, "/ ") {
		return b, &Error{Key: key, Msg: fmt.Sprintf("%q is not a bucket name", b)}
	}
	return b, nil
}

// checkPrefixURI checks a schedule's source (a prefix) or output.
func (c *Config) checkPrefixURI(s string, mustBePrefix bool) error {
	const want = "want s3://bucket/prefix/ or file:///dir/"
	u, err := c.ParseURI(s)
	switch {
	case err != nil:
		return fmt.Errorf("%v (%s)", err, want)
	case mustBePrefix && !u.IsPrefix():
		return fmt.Errorf("%q: not a prefix (%s, ending in /)", s, want)
	}
	return nil
}

// unwrapPath drops the path os errors repeat.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
