package tasks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/pages"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// headLen is how much of a source is read to tell its format: 64 KiB also
// holds a photo's EXIF orientation (pages.Image.Head), sparing a read.
const headLen = 64 << 10

// fetched is a source as read from storage: its format, how many pages it
// has, and the pages selected for reading (all, or page 1 with pages:
// first), each ready for pages.Converter.Prepare. close removes what it
// spooled.
type fetched struct {
	format  string
	count   int
	pages   []pages.Image
	sum     func() string // sha256 hex of the source, "" until read whole
	closers []func()
}

func (f *fetched) close() {
	if f == nil {
		return
	}
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
	f.closers = nil
}

// fetchOptions say which pages of a source to keep.
type fetchOptions struct {
	maxPages  int  // more fail as too_many_pages (0: no limit)
	firstOnly bool // pages: first
	single    bool // more than one page is multi_page (face-compare)
}

// fetch reads a source before any vendor call and checks it (size, real
// format, pages). JPEG and PNG, which every vendor takes, stay streamed
// from storage (the first read reuses the GET that sniffed them, so a
// normal document costs one GET) and are never decoded. Everything else
// (PDF, TIFF, WebP, BMP, GIF, HEIC, a JPEG to turn upright) is spooled to a temp file, at most worker.maxSourceBytes, and split into
// pages (pages.Split). The result must be closed, even on error.
func (h *Handler) fetch(ctx context.Context, j *job, b storage.Bucket, info storage.ObjectInfo, what string, opt fetchOptions) (*fetched, error) {
	v := j.vendor
	maxSource, _, _ := h.Config.PageLimits()
	f := &fetched{}
	if info.Size == 0 {
		return f, ocrerr.Permanent(ocrerr.EmptySource, "%s is empty (0 bytes)", what)
	}
	if info.Size > maxSource {
		return f, ocrerr.Permanent(ocrerr.TooLarge, "%s is %d bytes, over worker.maxSourceBytes (%d)", what, info.Size, maxSource)
	}
	rc, _, err := b.Get(ctx, info.Key)
	if err != nil {
		return f, storageErr(err, what)
	}
	head := make([]byte, headLen)
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		rc.Close()
		return f, storageErr(err, what)
	}
	head = head[:n]
	format, known := imageformat.Detect(head)
	if !known {
		rc.Close()
		return f, ocrerr.Permanent(ocrerr.InvalidImage, "%s is not an image (unrecognized bytes)", what)
	}
	f.format = format
	// A sideways photo is decoded anyway: spooled, it is read once.
	upright := format != imageformat.JPG || pages.JPEGOrientation(bytes.NewReader(head)) == 1
	if (format == imageformat.JPG || format == imageformat.PNG) && upright {
		if v.MaxImageBytes > 0 && info.Size > v.MaxImageBytes {
			rc.Close()
			return f, ocrerr.Permanent(ocrerr.TooLarge, "%s is %d bytes, over the limit of %d", what, info.Size, v.MaxImageBytes)
		}
		s := h.stream(b, info, what, format, v.MaxImageBytes, head, rc)
		f.count, f.pages, f.sum = 1, []pages.Image{s.image}, s.sum
		f.closers = append(f.closers, s.close)
		return f, nil
	}

	// Spooled: hashed on the way, so the result names the source's bytes.
	sum := sha256.New()
	sp, err := pages.SpoolSource(io.TeeReader(io.MultiReader(bytes.NewReader(head), fetchReader{rc}), sum), h.TempDir, maxSource)
	rc.Close()
	if err != nil {
		return f, h.pageErr(err, what)
	}
	h.metrics().BytesFetched(sp.Size)
	f.closers = append(f.closers, func() { sp.Close() })
	hexSum := hex.EncodeToString(sum.Sum(nil))
	f.sum = func() string { return hexSum }
	doc, err := pages.Split(ctx, sp, sp.Size, format, pages.SplitOptions{MaxPages: opt.maxPages, FirstOnly: opt.firstOnly || opt.single,
		TempDir: h.TempDir, Budget: h.converter().Budget})
	if err != nil {
		return f, h.pageErr(err, what)
	}
	f.closers = append(f.closers, func() { doc.Close() })
	f.count, f.pages = doc.Count, doc.Pages
	if opt.single && doc.Count > 1 {
		return f, ocrerr.Permanent(ocrerr.MultiPage, "%s has %d pages; one page is allowed", what, doc.Count)
	}
	return f, nil
}

// fetchReader marks errors reading the object, which SpoolSource returns
// as they are, as storage errors (a temp-file error is not one).
type fetchReader struct{ r io.Reader }

type fetchError struct{ err error }

func (e fetchError) Error() string { return e.err.Error() }
func (e fetchError) Unwrap() error { return e.err }

func (f fetchReader) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if err != nil && err != io.EOF {
		err = fetchError{err}
	}
	return n, err
}

// pageErr classifies what internal/pages returns: its own *ocrerr.Error
// (too_large, too_many_pages, unsupported_format, invalid_image) as it
// is, a failed read of the object as storage trouble, a cancelled context
// as itself (shutting down), anything else (a temp file) as transient.
func (h *Handler) pageErr(err error, what string) error {
	var fe fetchError
	switch {
	case errors.As(err, &fe):
		return storageErr(fe.err, what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	if e, ok := ocrerr.As(err); ok {
		cp := *e
		cp.Message = what + ": " + e.Message
		return &cp
	}
	return ocrerr.Transient(ocrerr.Internal, "%s: preparing the image failed", what).Wrap(ocrerr.Redact(err))
}

// streamed is a JPEG or PNG served from storage as the vendor reads it.
type streamed struct {
	image pages.Image
	hash  hash.Hash
	full  bool   // hash covers the whole image
	close func() // closes the sniffing GET if nothing ever opened the image
}

func (s *streamed) sum() string {
	if !s.full {
		return ""
	}
	return hex.EncodeToString(s.hash.Sum(nil))
}

// stream makes a re-openable image of an object whose first bytes (head)
// were read from rc: the first Open continues rc, later ones GET again.
// Every read is hashed, counted and stopped at limit (an object replaced
// by a larger one after the HEAD is never streamed whole).
func (h *Handler) stream(b storage.Bucket, info storage.ObjectInfo, what, format string, limit int64, head []byte, rc io.ReadCloser) *streamed {
	s := &streamed{hash: sha256.New()}
	first := true
	s.close = func() {
		if first {
			first = false
			rc.Close()
		}
	}
	metrics := h.metrics()
	s.image = pages.Image{
		Format: format, Size: info.Size, Head: head,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			s.hash.Reset()
			s.full = false
			if first {
				first = false
				return &hashingReader{r: struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(head), rc), rc}, s: s, metrics: metrics, limit: limit, what: what}, nil
			}
			r, _, err := b.Get(ctx, info.Key)
			if err != nil {
				return nil, storageErr(err, what)
			}
			return &hashingReader{r: r, s: s, metrics: metrics, limit: limit, what: what}, nil
		},
	}
	return s
}

// hashingReader hashes and counts what is read of a streamed image, and
// stops at the size limit.
type hashingReader struct {
	n       int64
	r       io.ReadCloser
	s       *streamed
	metrics Metrics
	limit   int64 // 0: none
	what    string
}

func (h *hashingReader) Read(b []byte) (int, error) {
	if h.limit > 0 && h.n >= h.limit {
		// One byte past the limit tells a grown object from one of exactly the limit.
		var one [1]byte
		if n, _ := h.r.Read(one[:]); n > 0 {
			return 0, tooLarge(h.what, h.limit)
		}
	}
	if h.limit > 0 && int64(len(b)) > h.limit-h.n && h.limit > h.n {
		b = b[:h.limit-h.n]
	}
	n, err := h.r.Read(b)
	h.s.hash.Write(b[:n])
	h.n += int64(n)
	if err == io.EOF {
		h.s.full = true
	}
	return n, err
}

func (h *hashingReader) Close() error {
	h.metrics.BytesFetched(h.n)
	return h.r.Close()
}

func tooLarge(what string, limit int64) *ocrerr.Error {
	return ocrerr.Permanent(ocrerr.TooLarge, "%s is over the limit of %d bytes", what, limit)
}
