package nhn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"sync"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// imageBody streams img, AES-encrypted, as the multipart field "image"
// (seed: "image multipart/form-data, 대칭 키로 암호화된 이미지"). The image
// goes reader -> CBC encrypter -> multipart writer -> pipe -> HTTP request,
// one chunk at a time, so a 10 MB image is never held whole. When the size is
// known the body length is exact, sparing the vendor a chunked upload.
func imageBody(img vendors.Image) bodyFunc {
	return func(ctx context.Context, env *envelope) (io.ReadCloser, string, int64, func() error, error) {
		src, err := img.Open(ctx)
		if err != nil {
			return nil, "", 0, nil, imageError(err)
		}
		filename := "image." + img.Format // neutral: never the object key
		if img.Format == "" {
			filename = "image"
		}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		var length int64 = -1
		if img.Size > 0 {
			length = multipartOverhead(mw.Boundary(), filename) + encryptedLen(img.Size)
		}
		up := &upload{src: src, done: make(chan struct{})}
		go func() {
			defer close(up.done)
			defer src.Close()
			err := func() error {
				part, err := mw.CreateFormFile("image", filename)
				if err != nil {
					return err
				}
				n, err := env.encryptStream(part, up)
				if err != nil {
					return err
				}
				if img.Size > 0 && n != img.Size {
					up.fail(fmt.Errorf("image is %d bytes, %d announced", n, img.Size))
					return up.err
				}
				return mw.Close()
			}()
			pw.CloseWithError(err)
		}()
		wait := func() error {
			pr.Close() // unblocks the writer if the transport stopped reading
			<-up.done
			if up.err != nil {
				return imageError(up.err)
			}
			return nil
		}
		return pr, mw.FormDataContentType(), length, wait, nil
	}
}

// upload reads the image and remembers a failure of the image itself, as
// opposed to the request side closing the pipe.
type upload struct {
	src  io.Reader
	mu   sync.Mutex
	err  error
	done chan struct{}
}

func (u *upload) Read(p []byte) (int, error) {
	n, err := u.src.Read(p)
	if err != nil && err != io.EOF {
		u.fail(err)
	}
	return n, err
}

func (u *upload) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		u.err = err
	}
}

// imageError classifies a failure to read the source image.
func imageError(err error) error {
	if e, ok := ocrerr.As(err); ok {
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ocrerr.Transient(ocrerr.StorageUnavailable, "image read interrupted").Wrap(err)
	}
	return ocrerr.Transient(ocrerr.StorageUnavailable, "image read failed").Wrap(err)
}

// multipartOverhead is the size of the multipart framing around the image.
func multipartOverhead(boundary, filename string) int64 {
	var cw countingWriter
	mw := multipart.NewWriter(&cw)
	_ = mw.SetBoundary(boundary)
	_, _ = mw.CreateFormFile("image", filename)
	_ = mw.Close()
	return cw.n
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
