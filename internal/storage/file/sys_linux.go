//go:build linux

package file

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// getXattr reads one extended attribute of an open file. ok is false when
// the file has none by that name; errXattrUnsupported when the filesystem
// keeps none at all.
func getXattr(f *os.File, name string) (value []byte, ok bool, err error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Fgetxattr(int(f.Fd()), name, buf)
		switch {
		case err == nil:
			return buf[:n], true, nil
		case errors.Is(err, unix.ENODATA):
			return nil, false, nil
		case errors.Is(err, unix.ERANGE) && len(buf) < 1<<16:
			buf = make([]byte, 4*len(buf))
		case unsupported(err):
			return nil, false, errXattrUnsupported
		default:
			return nil, false, err
		}
	}
}

// setXattr sets one extended attribute of an open file, atomically: a
// reader sees the old value or the new one.
func setXattr(f *os.File, name string, value []byte) error {
	err := unix.Fsetxattr(int(f.Fd()), name, value, 0)
	if unsupported(err) {
		return errXattrUnsupported
	}
	return err
}

func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// tryLock takes an exclusive open-file-description lock on one byte of f.
// OFD locks belong to the open file, not the process, so two goroutines of
// one process exclude each other as two processes do; on NFS the client
// forwards them to the server (NLM for v3, the protocol's own locks for v4).
// busy is true when someone else holds the byte.
func tryLock(f *os.File, offset int64) (busy bool, err error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: offset, Len: 1}
	err = unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return true, nil
	}
	return false, err
}
