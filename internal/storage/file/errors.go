package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// notFound maps an open error to ErrNotFound when the object is missing:
// no such name, a file where a directory should be, or a path os.Root
// refuses because it would leave the root (no object out there exists for
// this store).
func notFound(err error) error {
	var pe *fs.PathError
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) ||
		(errors.As(err, &pe) && !isErrno(pe.Err)) {
		return fmt.Errorf("%w: %w", storage.ErrNotFound, pathless(err))
	}
	return pathless(err)
}

// keyErr marks the write errors that come from the key itself (a path
// through a file, a directory in the way, a name too long, a path out of
// the root) as ErrInvalidKey: no retry can fix them.
func keyErr(err error) error {
	var pe *fs.PathError
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENAMETOOLONG) ||
		errors.Is(err, syscall.EEXIST) || (errors.As(err, &pe) && !isErrno(pe.Err)) {
		return fmt.Errorf("%w: %w", storage.ErrInvalidKey, pathless(err))
	}
	return pathless(err)
}

// noHardLinks reports a link(2) refused because the filesystem has none.
func noHardLinks(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP)
}

func isErrno(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno)
}

// pathless drops the path from an os error: object keys may hold personal
// data, and errors reach logs. The cause stays in the chain.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}

// fail names the operation and the root, never the key (see pathless).
func (b *Bucket) fail(op string, err error) error {
	return fmt.Errorf("file %s %s: %w", op, b.uri(), err)
}

func (b *Bucket) uri() string { return storage.URI{Bucket: b.name}.String() + "…" }
