package pages

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// Spooled is a source copied to a temp file, for Split's random access
// without holding the source in memory. Close removes the file.
type Spooled struct {
	*os.File
	Size int64
}

// SpoolSource copies r to a temp file in dir. More than limit bytes
// (worker.maxSourceBytes; 0: no limit) fail as too_large, without
// writing past the limit. Errors reading r are returned as they are, for
// the caller to classify (a storage error is not an image error).
func SpoolSource(r io.Reader, dir string, limit int64) (*Spooled, error) {
	f, err := os.CreateTemp(dir, "ocr-source-*")
	if err != nil {
		return nil, fmt.Errorf("pages: temp file: %w", err)
	}
	src := r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.Copy(f, src)
	if err == nil && limit > 0 && n > limit {
		err = ocrerr.Permanent(ocrerr.TooLarge, "the source is over the limit of %d bytes", limit)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &Spooled{File: f, Size: n}, nil
}

// Close closes and removes the spooled file.
func (s *Spooled) Close() error {
	return errors.Join(s.File.Close(), os.Remove(s.File.Name()))
}
