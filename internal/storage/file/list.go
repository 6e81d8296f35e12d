package file

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// List visits files in S3's key order: byte order of the whole key. A
// directory walk sorted by name is not that order: "a-b" < "a.b" < "a/x" <
// "a0" as keys, but the directory "a" sorts before "a-b" by name. So each
// directory's entries are sorted by the key text they contribute, a file
// by its name and a directory by its name plus "/"; every key below a
// directory then starts with that text, and a depth-first walk in this
// order yields keys in byte order.
//
// Memory: one directory's sorted entries per level of the walk, so bounded
// by the largest directory (times the depth), never the tree. The walk
// starts at the directory the prefix names and skips subtrees that lie
// wholly at or before startAfter, so resuming deep in a big tree reads
// only the directories on the way.
//
// Not listed: the store's own files (temporary, lock, metadata), dot-names
// and NAS housekeeping (see unlisted), anything not a regular file, and
// symlinks that point out of the root or to a directory (a walk into a linked directory could
// loop; a Get of a key through such a link still works when the link stays
// inside the root).
func (b *Bucket) List(ctx context.Context, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	start, ok := listableDir(prefix)
	if !ok {
		return nil // a prefix no key can have
	}
	err := b.walk(ctx, start, prefix, startAfter, fn)
	var stop fnError
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return b.fail("list", err)
	}
	return nil
}

// fnError carries the callback's error through the walk untouched.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

type dirEntry struct {
	text  string // the key text it adds: name, or name + "/" for a directory
	entry fs.DirEntry
}

// walk lists dir ("" for the root, else ending in "/").
func (b *Bucket) walk(ctx context.Context, dir, prefix, startAfter string, fn func(storage.ObjectInfo) error) error {
	entries, err := b.readDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := dir + e.text
		if e.entry.IsDir() {
			if !strings.HasPrefix(key, prefix) && !strings.HasPrefix(prefix, key) {
				continue // no key below can have the prefix
			}
			if key < startAfter && !strings.HasPrefix(startAfter, key) {
				continue // every key below sorts before startAfter
			}
			if err := b.walk(ctx, key, prefix, startAfter, fn); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(key, prefix) || key <= startAfter {
			continue
		}
		fi, ok, err := b.fileInfo(key, e.entry)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		info := objectInfo(key, fi)
		info.ContentType = "" // as ListObjectsV2: no content type, no metadata
		if err := fn(info); err != nil {
			return fnError{err}
		}
	}
	return nil
}

// readDir returns dir's visible entries in key order. A directory that is
// missing, or not a directory, lists as empty.
func (b *Bucket) readDir(dir string) ([]dirEntry, error) {
	name := strings.TrimSuffix(dir, "/")
	if name == "" {
		name = "."
	}
	if b.onReadDir != nil {
		b.onReadDir(name)
	}
	// O_DIRECTORY|O_NONBLOCK: a prefix naming a FIFO must not hang the walk.
	d, err := b.root.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(notFound(err), storage.ErrNotFound) {
			return nil, nil
		}
		return nil, pathless(err)
	}
	defer d.Close()
	raw, err := d.ReadDir(-1)
	if errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, pathless(err)
	}
	entries := make([]dirEntry, 0, len(raw))
	for _, e := range raw {
		if unlisted(e.Name()) {
			continue
		}
		text := e.Name()
		if e.IsDir() {
			text += "/"
		}
		entries = append(entries, dirEntry{text: text, entry: e})
	}
	slices.SortFunc(entries, func(x, y dirEntry) int { return strings.Compare(x.text, y.text) })
	return entries, nil
}

// fileInfo stats a listed entry: regular files as they are, symlinks by
// their target inside the root. ok is false for what is no object, or is
// gone already.
func (b *Bucket) fileInfo(key string, e fs.DirEntry) (fs.FileInfo, bool, error) {
	var fi fs.FileInfo
	var err error
	if e.Type()&fs.ModeSymlink != 0 {
		fi, err = b.root.Stat(key)
	} else {
		fi, err = e.Info()
	}
	if err != nil {
		if errors.Is(notFound(err), storage.ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, pathless(err)
	}
	return fi, fi.Mode().IsRegular(), nil
}
