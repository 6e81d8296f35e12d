// Package file implements storage.Bucket on a directory tree: a local disk,
// or an NFS or NAS mount shared by every producer and worker (see
// docs/file-storage.md). It keeps the S3 implementation's contract and
// passes the same storagetest suite.
//
// Model: the store has one root directory (storage.fileRoot) and one bucket,
// named by that root ("/data"); a key is a slash-separated path below it.
// The root is the store's allow-list: every access goes through os.Root, so
// neither ".." nor a symlink reaches outside it (an escaping symlink is a
// missing object).
//
// Writes are atomic: the body goes to a temporary file in the key's own
// directory, is fsynced, and then is renamed into place (or, for a
// create-only Put, hard-linked, which fails if the name exists). A crash
// leaves at worst a hidden temporary file, never a partial object, and a
// reader has either the old file open or the new one. Replacing writes
// (unconditional, If-Match) and deletes of one key are serialized by a lock
// on one byte of a per-directory lock file, so the If-Match comparison and
// the rename are one step.
//
// ETag: "INODE-MTIME-SIZE" in hex (inode number, modification time in
// nanoseconds since the epoch, size in bytes), quoted like S3's. It changes
// whenever a writer (this package or any other program) replaces or
// modifies the file, and it is the same on every machine that mounts the
// share, since NFS serves the server's inode numbers and times. A Put of
// the bytes already there leaves the file alone, so the ETag stays, as S3's
// MD5 ETag does (unless its metadata changes and lives in the fallback,
// see meta.go); and a replacing Put gives the new file a later
// modification time than the old one, so an ETag never comes back for a
// key even when the filesystem reuses the inode number. Programs that set
// times backwards (touch -d, cp -p over a newer file) can defeat that.
package file

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"syscall"
	"time"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Options configures a Store.
type Options struct {
	// Root is the directory whose tree the store serves, absolute; "" is "/".
	Root string
	// NoXattr keeps metadata in the hidden-directory fallback even where
	// the filesystem supports extended attributes (for shares that accept
	// xattrs but lose them, and for tests).
	NoXattr bool
}

// Store serves one directory tree as one bucket, named by the root's path.
// It is safe for concurrent use, also by several processes and machines
// on one shared mount.
type Store struct {
	bucket *Bucket
}

var _ storage.Store = (*Store)(nil)

// New opens the root directory; it must exist.
func New(opts Options) (*Store, error) {
	name, err := storage.CleanFileRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("storage.fileRoot: %w", err)
	}
	return &Store{bucket: &Bucket{root: root, name: name, noXattr: opts.NoXattr}}, nil
}

// Close releases the root directory.
func (s *Store) Close() error { return s.bucket.root.Close() }

// Bucket returns the store's bucket when name is its root; any other name
// is a bucket that fails every call, naming the mismatch.
func (s *Store) Bucket(name string) storage.Bucket {
	if name != s.bucket.name {
		return storage.Unavailable(name, fmt.Errorf("not the file root %s (storage.fileRoot)", s.bucket.name))
	}
	return s.bucket
}

// Bucket is the directory tree under the store's root.
type Bucket struct {
	root    *os.Root
	name    string
	noXattr bool

	onReadDir func(dir string)                    // tests: sees each directory a listing reads
	link      func(oldname, newname string) error // tests: a filesystem without hard links
}

var _ storage.Bucket = (*Bucket)(nil)

// Name is the root directory's path.
func (b *Bucket) Name() string { return b.name }

// Get opens the file for streaming; the caller closes it.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	f, info, err := b.open(ctx, "get", key)
	if err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	return f, info, nil
}

// Head returns the file's attributes and metadata.
func (b *Bucket) Head(ctx context.Context, key string) (storage.ObjectInfo, error) {
	f, info, err := b.open(ctx, "head", key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	f.Close()
	return info, nil
}

// open opens a regular file and reads its attributes and metadata from the
// open file, so they describe the very bytes the caller reads.
func (b *Bucket) open(ctx context.Context, op, key string) (*os.File, storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return nil, storage.ObjectInfo{}, b.fail(op, fmt.Errorf("%w: %w", storage.ErrNotFound, err))
	}
	for attempt := 0; ; attempt++ {
		f, info, stale, err := b.openOnce(key)
		if err != nil {
			return nil, storage.ObjectInfo{}, b.fail(op, err)
		}
		if !stale || attempt == 10 {
			return f, info, nil // after ten: a writer that fast is all there is
		}
		f.Close() // replaced while we looked; read the new version instead
	}
}

// openOnce opens the file at key. stale reports a version that was
// replaced before its metadata could be read: the fallback keeps entries
// only for the current and the newest version.
func (b *Bucket) openOnce(key string) (f *os.File, info storage.ObjectInfo, stale bool, err error) {
	// O_NONBLOCK: opening a FIFO someone left in the tree must not hang.
	f, err = b.root.OpenFile(key, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, storage.ObjectInfo{}, false, notFound(err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, storage.ObjectInfo{}, false, pathless(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, storage.ObjectInfo{}, false, fmt.Errorf("%w: not a regular file", storage.ErrNotFound)
	}
	info = objectInfo(key, fi)
	rec, ok, err := b.readRecord(f, key, info.ETag)
	if err != nil {
		return nil, storage.ObjectInfo{}, false, pathless(err)
	}
	if ok {
		info.ContentType, info.Metadata = rec.ContentType, rec.Metadata
		return f, info, false, nil
	}
	// No record: a file no Put wrote, or a version replaced since we opened it.
	if cur, err := b.root.Stat(key); err == nil && etag(cur) != info.ETag {
		return f, info, true, nil
	}
	return f, info, false, nil
}

// Put writes r to a temporary file beside the key, then puts it in place
// under the key's lock: renamed over the old file, or for IfNoneMatch
// linked, which fails if the name exists.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := checkKey(key); err != nil {
		return storage.ObjectInfo{}, b.fail("put", err)
	}
	info, err := b.put(ctx, key, r, size, opts)
	if err != nil {
		return storage.ObjectInfo{}, b.fail("put", err)
	}
	return info, nil
}

func (b *Bucket) put(ctx context.Context, key string, r io.Reader, size int64, opts storage.PutOptions) (storage.ObjectInfo, error) {
	dir, _ := splitKey(key)
	if err := b.root.MkdirAll(dir, 0o755); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("make the key's directory: %w", keyErr(err))
	}
	tmp, tmpName, err := b.createTemp(dir)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	defer b.discard(tmp, tmpName)
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("write body: %w", pathless(err))
	}
	if size >= 0 && n != size {
		return storage.ObjectInfo{}, fmt.Errorf("body has %d bytes, size says %d", n, size)
	}

	unlock, err := b.lock(ctx, key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	defer unlock()

	// Open, not stat: on NFS an open revalidates the name with the server
	// (close-to-open), where a stat may answer from another client's
	// cached view of the directory.
	curFile, cur, err := b.current(key)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	exists := curFile != nil
	if exists {
		defer curFile.Close()
	}
	switch {
	case opts.IfNoneMatch && exists:
		return storage.ObjectInfo{}, fmt.Errorf("object exists: %w", storage.ErrPreconditionFailed)
	case opts.IfMatch != "" && (!exists || etag(cur) != opts.IfMatch):
		return storage.ObjectInfo{}, fmt.Errorf("etag mismatch: %w", storage.ErrPreconditionFailed)
	}
	rec := newRecord(opts)
	curETag := ""
	if exists {
		curETag = etag(cur)
		if cur.Size() == n {
			if info, same, err := b.keepIfSame(key, curFile, cur, tmp, rec); err != nil || same {
				return info, err
			}
		}
		if err := b.laterThan(tmp, tmpName, cur.ModTime()); err != nil {
			return storage.ObjectInfo{}, err
		}
	}
	fi, err := tmp.Stat()
	if err != nil {
		return storage.ObjectInfo{}, pathless(err)
	}
	info := objectInfo(key, fi)
	info.ContentType, info.Metadata = rec.ContentType, rec.Metadata
	if err := b.writeRecord(tmp, key, info.ETag, curETag, rec); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("write metadata: %w", pathless(err))
	}
	// Body, times and xattr reach the disk before the name does.
	if err := tmp.Sync(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("fsync: %w", pathless(err))
	}
	if err := b.place(tmp, tmpName, key, opts.IfNoneMatch); err != nil {
		return storage.ObjectInfo{}, err
	}
	b.syncDir(dir)
	return info, nil
}

// place moves the complete temporary file to key. Create-only uses link(2),
// atomic on local filesystems and NFS alike: of two writers exactly one
// links. An NFS reply lost after the server linked looks like EEXIST on
// the retry; the temp file's link count tells the truth.
func (b *Bucket) place(tmp *os.File, tmpName, key string, createOnly bool) error {
	if !createOnly {
		if err := b.root.Rename(tmpName, key); err != nil {
			return fmt.Errorf("rename into place: %w", keyErr(err))
		}
		return nil
	}
	link := b.root.Link
	if b.link != nil {
		link = b.link
	}
	err := link(tmpName, key)
	if err != nil {
		if fi, serr := tmp.Stat(); serr == nil && nlink(fi) == 2 {
			err = nil
		}
	}
	if noHardLinks(err) {
		// FAT and exFAT disks, some SMB shares: no hard links. The caller
		// holds the key's lock and saw no file, so a rename is safe among
		// this store's writers; only the link's extra guarantee (when locks
		// are not shared, see docs/file-storage.md) is lost.
		if cur, _, cerr := b.current(key); cerr != nil || cur != nil {
			if cur != nil {
				cur.Close()
			}
			return fmt.Errorf("object exists: %w", storage.ErrPreconditionFailed)
		}
		return b.place(tmp, tmpName, key, false)
	}
	if errors.Is(err, fs.ErrExist) {
		if _, serr := b.root.Stat(key); errors.Is(notFound(serr), storage.ErrNotFound) {
			// The name is a link to nowhere inside the root: no object a
			// reader could find, so no "someone wrote first" either.
			return fmt.Errorf("%w: a symlink that is no object holds the name", storage.ErrInvalidKey)
		}
		return fmt.Errorf("object exists: %w", storage.ErrPreconditionFailed)
	}
	if err != nil {
		return fmt.Errorf("link into place: %w", keyErr(err))
	}
	b.root.Remove(tmpName) // the object keeps the inode; a leftover name is hidden
	return nil
}

// current opens the file now at key; nil if there is none.
func (b *Bucket) current(key string) (*os.File, fs.FileInfo, error) {
	f, err := b.root.OpenFile(key, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(notFound(err), storage.ErrNotFound) {
		return nil, nil, nil // a link out of the root is no object either: the rename replaces the link
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open the current file: %w", keyErr(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%w: the key names a directory or special file", storage.ErrInvalidKey)
	}
	if err != nil {
		f.Close()
		return nil, nil, pathless(err)
	}
	return f, fi, nil
}

// keepIfSame compares the complete temporary file with the current file
// (of the same size). Identical bytes stay where they are, keeping their
// ETag as S3 keeps an MD5; a changed record is written in place where it
// is an xattr. same is false when the new file must go into place.
func (b *Bucket) keepIfSame(key string, cur *os.File, fi fs.FileInfo, tmp *os.File, rec record) (storage.ObjectInfo, bool, error) {
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return storage.ObjectInfo{}, false, pathless(err)
	}
	same, err := sameBytes(cur, tmp)
	if err != nil || !same {
		return storage.ObjectInfo{}, false, err
	}
	info := objectInfo(key, fi)
	old, ok, err := b.readRecord(cur, key, info.ETag)
	if err != nil {
		return storage.ObjectInfo{}, false, pathless(err)
	}
	if !ok || !old.equal(rec) {
		updated, err := b.updateInPlace(cur, rec)
		if err != nil {
			return storage.ObjectInfo{}, false, fmt.Errorf("write metadata: %w", pathless(err))
		}
		if !updated {
			return storage.ObjectInfo{}, false, nil // write a new file after all
		}
	}
	info.ContentType, info.Metadata = rec.ContentType, rec.Metadata
	return info, true, nil
}

// laterThan makes the temporary file's modification time later than the
// replaced file's, so the key's ETags never repeat. Filesystems with coarse
// timestamps round small steps away, hence the growing steps.
func (b *Bucket) laterThan(tmp *os.File, tmpName string, old time.Time) error {
	for _, step := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second, 2 * time.Second} {
		fi, err := tmp.Stat()
		if err != nil {
			return pathless(err)
		}
		if fi.ModTime().After(old) {
			return nil
		}
		if err := b.root.Chtimes(tmpName, time.Time{}, old.Add(step)); err != nil {
			return fmt.Errorf("set modification time: %w", pathless(err))
		}
	}
	return errors.New("cannot give the new file a later modification time than the old one")
}

// Delete removes the file under the key's lock; a missing file is fine.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if checkKey(key) != nil {
		return nil // no such file can exist
	}
	err := b.delete(ctx, key)
	if err != nil {
		return b.fail("delete", err)
	}
	return nil
}

func (b *Bucket) delete(ctx context.Context, key string) error {
	if _, err := b.root.Stat(key); err != nil {
		if errors.Is(notFound(err), storage.ErrNotFound) {
			return nil // no object here (a link out of the root is none), and no lock file to create for it
		}
		return pathless(err)
	}
	unlock, err := b.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	if fi, err := b.root.Stat(key); err != nil || !fi.Mode().IsRegular() {
		return nil // gone meanwhile, or a directory: no object
	}
	if err := b.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return pathless(err)
	}
	return b.removeMetaFile(key)
}

// createTemp makes a new hidden file in dir; O_EXCL so no two writers share one.
func (b *Bucket) createTemp(dir string) (*os.File, string, error) {
	for range 3 {
		var rnd [12]byte
		rand.Read(rnd[:])
		name := path.Join(dir, tempPrefix+hex.EncodeToString(rnd[:]))
		f, err := b.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("create temporary file: %w", keyErr(err))
		}
		return f, name, nil
	}
	return nil, "", errors.New("create temporary file: names keep colliding")
}

// discard closes a temporary file and removes its name; after a rename the
// name is gone already and removing it is a harmless miss.
func (b *Bucket) discard(f *os.File, name string) {
	f.Close()
	b.root.Remove(name)
}

// syncDir makes a rename or link in dir durable. Errors are ignored: the
// data is in place, and some filesystems cannot fsync a directory.
func (b *Bucket) syncDir(dir string) {
	if d, err := b.root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// objectInfo describes a regular file; List, Head and Put agree on it.
func objectInfo(key string, fi fs.FileInfo) storage.ObjectInfo {
	return storage.ObjectInfo{
		Key:          key,
		Size:         fi.Size(),
		ETag:         etag(fi),
		ContentType:  defaultContentType(key),
		LastModified: fi.ModTime(),
	}
}

// etag is "INODE-MTIME-SIZE" in hex, quoted (see the package doc).
func etag(fi fs.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	return fmt.Sprintf(`"%x-%x-%x"`, ino, fi.ModTime().UnixNano(), fi.Size())
}

func nlink(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}

// defaultContentType is the type of a file no Put wrote: by its extension,
// else what S3 reports for an object stored without one.
func defaultContentType(key string) string {
	if ct := mime.TypeByExtension(path.Ext(key)); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func sameBytes(a, b io.Reader) (bool, error) {
	bufA, bufB := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, errA := io.ReadFull(a, bufA)
		nb, errB := io.ReadFull(b, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		switch {
		case errA != nil && !endA:
			return false, pathless(errA)
		case errB != nil && !endB:
			return false, pathless(errB)
		case endA || endB:
			return endA && endB, nil
		}
	}
}

// ctxReader ends a body copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
