package file

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Metadata (content type and user metadata) lives in one extended
// attribute of the object's own file, user.ocrfs, as JSON. It is set on the
// temporary file before the file is renamed or linked into place, so the
// body and its metadata appear together, and a reader reads both from the
// one inode it opened: no reader sees one version's body with another's
// metadata.
//
// Where the filesystem keeps no user xattrs (NFS before v4.2, some NAS
// shares, or when Options.NoXattr says so) the record goes to the fallback:
// DIR/.ocrfs-meta/NAME, a small JSON map from ETag to record. The writer
// adds the new version's entry before the body goes into place and keeps
// the current version's, so a reader always finds the entry of the ETag it
// sees; entries of versions that are gone are dropped on the next write.
// The hidden directory is never listed, so it cannot pass for sources.
// Readers look at the attribute first, then the fallback, whichever way
// they write themselves: machines sharing a mount may differ.

const xattrName = "user.ocrfs"

// errXattrUnsupported: the filesystem has no user extended attributes.
var errXattrUnsupported = errors.New("extended attributes not supported")

// record is what is kept of an object besides its bytes.
type record struct {
	ContentType string            `json:"contentType,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func newRecord(opts storage.PutOptions) record {
	ct := opts.ContentType
	if ct == "" {
		ct = "application/octet-stream" // what S3 stores when none is given
	}
	return record{ContentType: ct, Metadata: storage.LowerKeys(opts.Metadata)}
}

func (r record) equal(o record) bool {
	return r.ContentType == o.ContentType && maps.Equal(r.Metadata, o.Metadata)
}

// readRecord returns the record of the open file f, whose ETag is etag.
// ok is false for a file no Put wrote (a user's own file).
func (b *Bucket) readRecord(f *os.File, key, etag string) (rec record, ok bool, err error) {
	// Whichever way this store writes, another machine's writer may have
	// used the other: the attribute first, then the fallback.
	raw, found, err := getXattr(f, xattrName)
	switch {
	case err == nil && found:
		if err := json.Unmarshal(raw, &rec); err != nil {
			return record{}, false, errors.New("unreadable metadata attribute")
		}
		return rec, true, nil
	case err != nil && !errors.Is(err, errXattrUnsupported):
		return record{}, false, err
	}
	entries, err := b.readMetaFile(key)
	if err != nil {
		return record{}, false, err
	}
	rec, ok = entries[etag]
	return rec, ok, nil
}

// writeRecord stores rec for the file tmp (not yet in place), whose ETag
// will be newETag. curETag is the ETag of the version now at key ("" if
// none), whose fallback entry must stay until the new body is in place.
// The caller holds the key's lock.
func (b *Bucket) writeRecord(tmp *os.File, key, newETag, curETag string, rec record) error {
	if !b.noXattr {
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		err = setXattr(tmp, xattrName, raw)
		if !errors.Is(err, errXattrUnsupported) {
			return err
		}
	}
	entries, err := b.readMetaFile(key)
	if err != nil {
		return err
	}
	keep := map[string]record{}
	if cur, ok := entries[curETag]; ok && curETag != "" {
		keep[curETag] = cur
	}
	keep[newETag] = rec
	return b.writeMetaFile(key, keep)
}

// updateInPlace replaces the record of the file f that is in place (a Put
// of identical bytes with new metadata), if it can do so atomically: only
// an xattr can. ok is false where the record is in the fallback; the
// caller then writes a new file instead, since a reader who prefers a
// stale xattr (set by another machine) would never see a fallback update.
func (b *Bucket) updateInPlace(f *os.File, rec record) (ok bool, err error) {
	if b.noXattr {
		return false, nil
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return false, err
	}
	err = setXattr(f, xattrName, raw)
	if errors.Is(err, errXattrUnsupported) {
		return false, nil
	}
	return err == nil, err
}

func metaPath(key string) string {
	dir, name := splitKey(key)
	return path.Join(dir, metaDir, name)
}

func (b *Bucket) readMetaFile(key string) (map[string]record, error) {
	raw, err := b.root.ReadFile(metaPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries map[string]record
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, nil // a torn or foreign file: as if there were none
	}
	return entries, nil
}

// writeMetaFile replaces the fallback file atomically (temp, fsync, rename).
func (b *Bucket) writeMetaFile(key string, entries map[string]record) error {
	raw, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	dir, _ := splitKey(key)
	mdir := path.Join(dir, metaDir)
	if err := b.root.MkdirAll(mdir, 0o755); err != nil {
		return err
	}
	tmp, tmpName, err := b.createTemp(mdir)
	if err != nil {
		return err
	}
	defer b.discard(tmp, tmpName)
	if _, err := tmp.Write(raw); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	return b.root.Rename(tmpName, metaPath(key))
}

// removeMetaFile drops the fallback file of a deleted key, if any.
func (b *Bucket) removeMetaFile(key string) error {
	err := b.root.Remove(metaPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
