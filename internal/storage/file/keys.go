package file

import (
	"fmt"
	"path"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// reservedPrefix starts the name of every file and directory this package
// makes beside the objects: temporary files, lock files, the metadata
// fallback directory. Listings skip such names (see unlisted), and Get,
// Head and Put refuse keys that contain one, so none can pass for a source.
const reservedPrefix = ".ocrfs-"

const (
	tempPrefix = reservedPrefix + "tmp-" // a body being written, renamed or linked into place when complete
	lockName   = reservedPrefix + "lock" // one per directory that has been written to
	metaDir    = reservedPrefix + "meta" // metadata where xattrs are not supported
)

// reserved reports whether a name is one of the store's own (in any case:
// on a case-insensitive share ".OCRFS-META" is the store's directory).
func reserved(name string) bool {
	return len(name) >= len(reservedPrefix) && strings.EqualFold(name[:len(reservedPrefix)], reservedPrefix)
}

// housekeeping are the names NAS boxes and desktops put beside people's
// files: thumbnails, recycle bins, folder settings. None is a document.
var housekeeping = map[string]bool{
	"@eadir":      true, // Synology thumbnails and metadata, in every folder
	"#recycle":    true, // Synology recycle bin
	"@recycle":    true, // QNAP recycle bin
	"thumbs.db":   true, // Windows thumbnails
	"desktop.ini": true, // Windows folder settings
}

// unlisted reports whether listings skip a directory entry. Besides the
// store's own names that is every dot-name (.DS_Store, macOS ._ files,
// rsync's and editors' temporary files, NFS .nfsXXXX files of removed open
// files, .snapshot directories) and the housekeeping names above: a folder
// copied from a Mac or kept on a NAS would otherwise turn each of them into
// a failed document. They remain objects when named: Get and Head find
// them, so "file:///data/in/.x.jpg" still works as a single source.
func unlisted(name string) bool {
	return strings.HasPrefix(name, ".") || housekeeping[strings.ToLower(name)]
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
		case reserved(seg):
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
