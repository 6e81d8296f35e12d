package file

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// reservedPrefix starts the name of every file and directory this package
// makes beside the objects: temporary files, lock files, the metadata
// fallback directory. Listings skip such names, Get and Head find nothing
// there, and Put refuses keys that contain one, so none can pass for a source.
const reservedPrefix = ".ocrfs-"

const (
	tempPrefix = reservedPrefix + "tmp-" // a body being written, renamed or linked into place when complete
	lockName   = reservedPrefix + "lock" // one per directory that has been written to
	metaDir    = reservedPrefix + "meta" // metadata where xattrs are not supported
)

// nfsSillyRename matches the names an NFS client gives files that were
// removed while still open (.nfs followed by hex digits); they vanish when
// closed and are never objects.
var nfsSillyRename = regexp.MustCompile(`^\.nfs[0-9a-fA-F]{8,}$`)

// hidden reports whether a directory entry is no object (nor a directory
// of objects) for listings. The reserved prefix matches in any case: on a
// case-insensitive share ".OCRFS-META" is the store's own directory.
func hidden(name string) bool {
	reserved := len(name) >= len(reservedPrefix) && strings.EqualFold(name[:len(reservedPrefix)], reservedPrefix)
	return reserved || (strings.HasPrefix(name, ".nfs") && nfsSillyRename.MatchString(name))
}

// checkKey refuses keys that are no relative file path with one spelling,
// or that name one of this package's own files. Keys are never cleaned:
// "a/../b" is refused rather than read as "b".
func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", storage.ErrInvalidKey)
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("%w: begins with /", storage.ErrInvalidKey)
	case strings.HasSuffix(key, "/"):
		return fmt.Errorf("%w: ends in / (a file store has no directory objects)", storage.ErrInvalidKey)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: holds a NUL byte", storage.ErrInvalidKey)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf(`%w: empty segment ("//")`, storage.ErrInvalidKey)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q segment", storage.ErrInvalidKey, seg)
		case hidden(seg):
			return fmt.Errorf("%w: %s names are reserved for the store's own files", storage.ErrInvalidKey, reservedPrefix)
		}
	}
	return nil
}

// splitKey returns a checked key's directory ("." at the root) and name.
func splitKey(key string) (dir, name string) {
	dir, name = path.Split(key)
	if dir == "" {
		return ".", name
	}
	return strings.TrimSuffix(dir, "/"), name
}

// listableDir reports whether a listing prefix's directory part (everything
// up to its last "/") could hold keys: it must be a path checkKey accepts.
// Any other prefix matches no key, so List returns nothing without opening
// anything.
func listableDir(prefix string) (string, bool) {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return "", true
	}
	dir := prefix[:i]
	return dir + "/", checkKey(dir) == nil
}
