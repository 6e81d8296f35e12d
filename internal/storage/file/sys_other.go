//go:build !linux

package file

import (
	"errors"
	"os"
)

// The file store is built and tested on Linux only: elsewhere metadata
// lives in the hidden-directory fallback and writes fail, since open file
// description locks are Linux's.

func getXattr(*os.File, string) ([]byte, bool, error) { return nil, false, errXattrUnsupported }

func setXattr(*os.File, string, []byte) error { return errXattrUnsupported }

func tryLock(*os.File, int64) (bool, error) {
	return false, errors.New("file storage writes need Linux (open file description locks)")
}
