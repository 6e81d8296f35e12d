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
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// images are the checked image(s) of one task: the source and, for
// face-compare, the face photo.
type images struct{ src, face *prepared }

// close closes what the vendor client never opened; safe on a partial set.
func (im *images) close() {
	for _, p := range []*prepared{im.src, im.face} {
		if p != nil {
			p.close()
		}
	}
}

// prepareRequest checks the task's image(s) (prepare) and builds the
// vendor request. The images must be closed, even on error.
func (h *Handler) prepareRequest(ctx context.Context, j *job) (*vendors.Request, *images, *ocrerr.Error) {
	v := j.vendor
	imgs := &images{}
	var oerr *ocrerr.Error
	imgs.src, oerr = h.prepare(ctx, j, h.Store.Bucket(j.Src.Bucket), j.src, j.imageWhat())
	if oerr != nil {
		return nil, imgs, oerr
	}
	req := &vendors.Request{DocumentType: j.Type, Image: imgs.src.image, PII: v.PII || (v.TaskPII && j.PII),
		KeepRaw: v.KeepRaw, Verify: v.Verify || j.Verify}
	j.res.Source.Format = imgs.src.image.Format
	if j.Type == result.TypeFaceCompare {
		imgs.face, oerr = h.prepare(ctx, j, h.Store.Bucket(j.FaceSrc.Bucket), j.face, "face image")
		if oerr != nil {
			return nil, imgs, oerr
		}
		j.res.FaceSource.Format = imgs.face.image.Format
		req.Face = &imgs.face.image
	}
	return req, imgs, nil
}

// prepared is a checked image ready to send.
type prepared struct {
	image vendors.Image
	hash  hash.Hash
	full  bool   // hash covers the whole image
	close func() // closes the sniffing GET if the client never opened the image
}

func (p *prepared) sum() string {
	if !p.full {
		return ""
	}
	return hex.EncodeToString(p.hash.Sum(nil))
}

// prepare checks an image before any vendor call (size, real format, page
// count) and returns it as a re-openable stream. The first Open reuses the
// sniffing GET, so a normal document costs one GET.
func (h *Handler) prepare(ctx context.Context, j *job, b storage.Bucket, info storage.ObjectInfo, what string) (*prepared, *ocrerr.Error) {
	v := j.vendor
	if info.Size == 0 {
		return nil, ocrerr.Permanent(ocrerr.EmptySource, "%s is empty (0 bytes)", what)
	}
	if v.MaxImageBytes > 0 && info.Size > v.MaxImageBytes {
		return nil, ocrerr.Permanent(ocrerr.TooLarge, "%s is %d bytes, over the limit of %d", what, info.Size, v.MaxImageBytes)
	}
	rc, _, err := b.Get(ctx, info.Key)
	if err != nil {
		return nil, storageErr(err, what)
	}
	head := make([]byte, imageformat.SniffLen)
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		rc.Close()
		return nil, storageErr(err, what)
	}
	head = head[:n]
	format, known := imageformat.Detect(head)
	if !known {
		rc.Close()
		return nil, ocrerr.Permanent(ocrerr.InvalidImage, "%s is not an image (unrecognized bytes)", what)
	}
	if !contains(v.Client.Formats(), format) {
		rc.Close()
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "%s is %s; vendor %q takes %v", what, format, v.Name, v.Client.Formats())
	}
	p := &prepared{hash: sha256.New()}
	var whole []byte
	if format == "pdf" || format == "tiff" {
		// Page counting needs random access, so these are read whole, but
		// never past the limit: the object may have grown since the HEAD.
		var r io.Reader = rc
		if v.MaxImageBytes > 0 {
			r = io.LimitReader(rc, max(v.MaxImageBytes-int64(len(head)), 0)+1)
		}
		rest, err := io.ReadAll(r)
		rc.Close()
		if err != nil {
			return nil, storageErr(err, what)
		}
		whole = append(head, rest...)
		if v.MaxImageBytes > 0 && int64(len(whole)) > v.MaxImageBytes {
			return nil, tooLarge(what, v.MaxImageBytes)
		}
		pages, err := imageformat.PageCount(bytes.NewReader(whole), int64(len(whole)), format)
		switch {
		case errors.Is(err, imageformat.ErrPageCountUnknown):
			// A valid file whose page tree we cannot read (e.g. a PDF 1.5
			// object stream): let the vendor judge it rather than refuse it.
			j.log.Debug().Str("format", format).Msg("page count unknown: sent as is")
		case err != nil:
			return nil, ocrerr.Permanent(ocrerr.InvalidImage, "%s: unreadable %s: %v", what, format, err)
		case pages > 1:
			return nil, ocrerr.Permanent(ocrerr.MultiPage, "%s has %d pages; one page is allowed", what, pages)
		}
	}
	first := true
	p.close = func() {
		if first && whole == nil {
			first = false
			rc.Close()
		}
	}
	metrics := h.metrics()
	p.image = vendors.Image{
		Name:   "image", // neutral: object keys may hold personal data
		Format: format,
		Size:   info.Size,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			p.hash.Reset()
			p.full = false
			if whole != nil {
				return &hashingReader{r: io.NopCloser(bytes.NewReader(whole)), p: p, metrics: metrics, limit: v.MaxImageBytes, what: what}, nil
			}
			if first {
				first = false
				return &hashingReader{r: struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(head), rc), rc}, p: p, metrics: metrics, limit: v.MaxImageBytes, what: what}, nil
			}
			r, _, err := b.Get(ctx, info.Key)
			if err != nil {
				return nil, storageErr(err, what)
			}
			return &hashingReader{r: r, p: p, metrics: metrics, limit: v.MaxImageBytes, what: what}, nil
		},
	}
	return p, nil
}

// hashingReader hashes and counts what the vendor client streams, and
// stops at the size limit (an object replaced by a larger one after the
// HEAD is never streamed whole).
type hashingReader struct {
	n       int64
	r       io.ReadCloser
	p       *prepared
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
	h.p.hash.Write(b[:n])
	h.n += int64(n)
	if err == io.EOF {
		h.p.full = true
	}
	return n, err
}

func (h *hashingReader) Close() error {
	h.metrics.BytesFetched(h.n)
	return h.r.Close()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func tooLarge(what string, limit int64) *ocrerr.Error {
	return ocrerr.Permanent(ocrerr.TooLarge, "%s is over the limit of %d bytes", what, limit)
}
