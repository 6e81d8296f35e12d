package ekyc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// maxResponseBytes caps how much of an answer is read. An id-card answer
// with a face (512 floats, an aligned image) is well under a megabyte.
const maxResponseBytes = 16 << 20

// upload is one image of a call and the names the wire gives it.
type upload struct {
	field string // face compare: "cardImage"/"faceImage"; documents: "file" (multipart part)
	name  string // the wire's "name"
	img   vendors.Image
	rc    io.ReadCloser
}

// imageReadError marks a failure to read our own image while streaming, so
// it is not mistaken for a network error.
type imageReadError struct{ err error }

func (e *imageReadError) Error() string { return "reading the image: " + e.err.Error() }
func (e *imageReadError) Unwrap() error { return e.err }

var errBodyAbandoned = errors.New("ekyc: request body abandoned after the answer")

// counter counts bytes, to compute a streamed body's Content-Length.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// bodyWriter writes a request body to w; data writes upload i's bytes.
type bodyWriter func(w io.Writer, data func(w io.Writer, i int) error) error

// send streams one call and returns the body of a 200 answer, or a
// classified error for anything else.
func (c *Client) send(ctx context.Context, endpoint, requestID string, imgs []vendors.Image) ([]byte, error) {
	ups := make([]*upload, len(imgs))
	if len(imgs) == 2 {
		ups[0] = &upload{field: "cardImage", name: nameOr(imgs[0].Name, "card"), img: imgs[0]}
		ups[1] = &upload{field: "faceImage", name: nameOr(imgs[1].Name, "face"), img: imgs[1]}
	} else {
		ups[0] = &upload{field: "file", name: nameOr(imgs[0].Name, "document"), img: imgs[0]}
	}
	for _, u := range ups {
		rc, err := u.img.Open(ctx)
		if err != nil {
			closeAll(ups)
			return nil, openError(err)
		}
		u.rc = rc
	}
	defer closeAll(ups)

	var write bodyWriter
	var contentType string
	if c.mode == ModeJSON {
		write, contentType = jsonBody(requestID, ups), "application/json"
	} else {
		boundary := randomBoundary()
		write, contentType = multipartBody(requestID, ups, boundary), "multipart/form-data; boundary="+boundary
	}

	// The length is known up front when every image's size is: framing
	// counted with a dry run, plus the (encoded) image sizes.
	length := int64(-1)
	if sizesKnown(ups) {
		var cnt counter
		var images int64
		_ = write(&cnt, func(_ io.Writer, i int) error {
			images += encodedLen(c.mode, ups[i].img.Size)
			return nil
		})
		length = cnt.n + images
	}

	pr, pw := io.Pipe()
	writeDone := make(chan error, 1)
	go func() {
		err := write(pw, func(w io.Writer, i int) error { return copyImage(c.mode, w, ups[i]) })
		pw.CloseWithError(err)
		writeDone <- err
	}()

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+endpoint, pr)
	if err != nil {
		pr.Close()
		<-writeDone
		return nil, ocrerr.Permanent(ocrerr.Internal, "building the eKYC request failed").Wrap(err)
	}
	if length >= 0 {
		hreq.ContentLength = length
	}
	hreq.Header.Set("Content-Type", contentType)
	hreq.Header.Set("X-EKYC-SECRET", c.secret)
	hreq.Header.Set("Accept", "application/json")

	// finish stops the writer (if the vendor answered without reading the
	// whole body) and waits for it. It must run only after the answer is read:
	// closing the pipe while the transport still reads the body's end breaks
	// the connection.
	finish := func() error {
		pr.CloseWithError(errBodyAbandoned)
		return <-writeDone
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		var ire *imageReadError
		if errors.As(finish(), &ire) {
			return nil, openError(ire.err)
		}
		return nil, vendors.TransportError(ctx, "eKYC", err)
	}
	if vendors.IsRedirect(resp.StatusCode) {
		resp.Body.Close()
		finish()
		return nil, vendors.RedirectError(resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	resp.Body.Close()
	finish()
	if err != nil {
		return nil, vendors.TransportError(ctx, "eKYC", err).WithVendor("", resp.StatusCode)
	}
	if len(body) > maxResponseBytes {
		return nil, ocrerr.Permanent(ocrerr.InvalidResponse, "eKYC answer larger than %d bytes", maxResponseBytes).WithVendor("", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, httpError(resp.StatusCode, resp.Header, body)
	}
	return body, nil
}

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func closeAll(ups []*upload) {
	for _, u := range ups {
		if u != nil && u.rc != nil {
			_ = u.rc.Close()
		}
	}
}

func sizesKnown(ups []*upload) bool {
	for _, u := range ups {
		if u.img.Size <= 0 {
			return false
		}
	}
	return true
}

func encodedLen(mode string, n int64) int64 {
	if mode == ModeJSON {
		return int64(base64.StdEncoding.EncodedLen(int(n)))
	}
	return n
}

// copyImage streams one image: base64 in JSON mode, raw in multipart mode.
// It fails when the image is not the size it claimed, since the
// Content-Length sent was computed from that size.
func copyImage(mode string, w io.Writer, u *upload) error {
	dst := w
	var enc io.WriteCloser
	if mode == ModeJSON {
		enc = base64.NewEncoder(base64.StdEncoding, w)
		dst = enc
	}
	n, err := io.Copy(dst, readerOnly{u.rc})
	if err != nil {
		var pe *pipeWriteError
		if errors.As(err, &pe) {
			return err
		}
		return &imageReadError{err}
	}
	if u.img.Size > 0 && n != u.img.Size {
		return &imageReadError{fmt.Errorf("image is %d bytes, expected %d", n, u.img.Size)}
	}
	if enc != nil {
		return enc.Close()
	}
	return nil
}

// readerOnly hides WriterTo so io.Copy's read errors come from the image.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// pipeWriteError is a write to the request body that failed (the vendor or
// the transport stopped reading); it is not the image's fault.
type pipeWriteError struct{ err error }

func (e *pipeWriteError) Error() string { return e.err.Error() }
func (e *pipeWriteError) Unwrap() error { return e.err }

// writeErrs tags write errors as pipe errors.
type writeErrs struct{ w io.Writer }

func (t writeErrs) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		err = &pipeWriteError{err}
	}
	return n, err
}

type specJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// jsonBody writes the base64 JSON body, streaming the "data" strings:
//
//	documents:    {"requestId","timestamp","images":[{"name","format","data"}]}
//	face compare: {"requestId","cardImage":{"name","format","data"},"faceImage":{…}}
func jsonBody(requestID string, ups []*upload) bodyWriter {
	ts := time.Now().UnixMilli()
	return func(w io.Writer, data func(io.Writer, int) error) error {
		w = writeErrs{w}
		rid, _ := json.Marshal(requestID)
		if _, err := fmt.Fprintf(w, `{"requestId":%s,`, rid); err != nil {
			return err
		}
		image := func(i int) error {
			name, _ := json.Marshal(ups[i].name)
			format, _ := json.Marshal(ups[i].img.Format)
			if _, err := fmt.Fprintf(w, `{"name":%s,"format":%s,"data":"`, name, format); err != nil {
				return err
			}
			if err := data(w, i); err != nil {
				return err
			}
			_, err := io.WriteString(w, `"}`)
			return err
		}
		if len(ups) == 1 {
			if _, err := fmt.Fprintf(w, `"timestamp":%d,"images":[`, ts); err != nil {
				return err
			}
			if err := image(0); err != nil {
				return err
			}
			_, err := io.WriteString(w, `]}`)
			return err
		}
		for i, u := range ups {
			sep := ","
			if i == len(ups)-1 {
				sep = "}"
			}
			if _, err := fmt.Fprintf(w, `"%s":`, u.field); err != nil {
				return err
			}
			if err := image(i); err != nil {
				return err
			}
			if _, err := io.WriteString(w, sep); err != nil {
				return err
			}
		}
		return nil
	}
}

// multipartBody writes the multipart body: a "message" part with the JSON
// message, then the file parts ("file", or "cardImage" and "faceImage").
func multipartBody(requestID string, ups []*upload, boundary string) bodyWriter {
	ts := time.Now().UnixMilli()
	var msg any
	if len(ups) == 1 {
		msg = struct {
			RequestID string     `json:"requestId"`
			Timestamp int64      `json:"timestamp"`
			Images    []specJSON `json:"images"`
		}{requestID, ts, []specJSON{{ups[0].name, ups[0].img.Format}}}
	} else {
		msg = struct {
			RequestID string   `json:"requestId"`
			CardImage specJSON `json:"cardImage"`
			FaceImage specJSON `json:"faceImage"`
		}{requestID, specJSON{ups[0].name, ups[0].img.Format}, specJSON{ups[1].name, ups[1].img.Format}}
	}
	msgJSON, _ := json.Marshal(msg)
	return func(w io.Writer, data func(io.Writer, int) error) error {
		mw := multipart.NewWriter(writeErrs{w})
		if err := mw.SetBoundary(boundary); err != nil {
			return err
		}
		if err := mw.WriteField("message", string(msgJSON)); err != nil {
			return err
		}
		for i, u := range ups {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, u.field, u.name+"."+u.img.Format))
			h.Set("Content-Type", mimeType(u.img.Format))
			pw, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			if err := data(pw, i); err != nil {
				return err
			}
		}
		return mw.Close()
	}
}

func mimeType(format string) string {
	switch format {
	case "jpg", "jpeg":
		return "image/jpeg"
	case "png":
		return "image/png"
	case "pdf":
		return "application/pdf"
	case "tiff":
		return "image/tiff"
	}
	return "application/octet-stream"
}

func randomBoundary() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "ekyc-" + hex.EncodeToString(b[:])
}

// openError classifies a failure to open or read our own image: storage
// errors keep their class, anything else is a transient storage failure.
func openError(err error) error {
	if e, ok := ocrerr.As(err); ok {
		return e
	}
	return ocrerr.Transient(ocrerr.StorageUnavailable, "reading the image failed").Wrap(err)
}
