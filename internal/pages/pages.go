// Package pages turns a source as people have it (a multi-page PDF or TIFF,
// a phone photo in HEIC or WebP, a rotated JPEG, a BMP from an old scanner)
// into single, upright pages in a format the vendor takes.
//
// Split counts a source's pages and spools each selected page to a temp
// file; Converter.Prepare then passes a page through untouched when the
// vendor takes it as it is, or decodes and re-encodes it, within a
// worker-wide memory Budget and a pixel limit checked before decoding.
package pages

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Image is one image or page: its format (an imageformat name) and a way
// to read it, as often as needed (a vendor retry reads it again).
type Image struct {
	Format string
	Size   int64
	Open   func(ctx context.Context) (io.ReadCloser, error)
	// Head optionally holds the image's first bytes, as the caller read
	// them to detect the format. Prepare reads a JPEG's EXIF orientation
	// from them when they reach the image data (sniff 64 KiB to cover
	// nearly every photo), sparing a read of the object.
	Head []byte
}

// readerImage serves an Image from random-access bytes (a spooled file, or
// a section of one). Its readers also seek, which pdfcpu needs.
func readerImage(format string, r io.ReaderAt, size int64) Image {
	return Image{Format: format, Size: size, Open: func(context.Context) (io.ReadCloser, error) {
		return sectionReadCloser{io.NewSectionReader(r, 0, size)}, nil
	}}
}

type sectionReadCloser struct{ *io.SectionReader }

func (sectionReadCloser) Close() error { return nil }

// fileImage serves an Image from a file on disk, opened per read.
func fileImage(format, path string, size int64) Image {
	return Image{Format: format, Size: size, Open: func(context.Context) (io.ReadCloser, error) {
		return os.Open(path)
	}}
}

// spool writes what fill produces to a new file in dir and returns its path
// and size; on error nothing is left behind.
func spool(dir, pattern string, fill func(w io.Writer) error) (path string, size int64, err error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", 0, fmt.Errorf("pages: temp file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("pages: temp file: %w", cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return "", 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("pages: temp file: %w", err)
	}
	return f.Name(), st.Size(), nil
}
