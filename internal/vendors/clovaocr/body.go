package clovaocr

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"sync"
)

// The wire "message" (JSON body, or the multipart "message" part).
type message struct {
	Version   string         `json:"version"`
	RequestID string         `json:"requestId"`
	Timestamp int64          `json:"timestamp"`
	Images    []messageImage `json:"images"`
}

type messageImage struct {
	Format string `json:"format"`
	Name   string `json:"name"`
}

var contentTypes = map[string]string{"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
	"pdf": "application/pdf", "tiff": "image/tiff"}

// body streams a request body from the image through an io.Pipe: the image
// is read once, in pieces, while the transport sends it, so a 10 MB image
// is never held whole in memory (base64 alone would make it 13 MB).
type body struct {
	pr          *io.PipeReader
	contentType string
	boundary    string
	length      int64 // -1: unknown, sent chunked
	done        chan struct{}

	mu      sync.Mutex
	readErr error // the image failed to read (not the network)
}

func newBody(mode string, msg message, img io.ReadCloser, size int64) *body {
	pr, pw := io.Pipe()
	b := &body{pr: pr, done: make(chan struct{}), length: -1}
	var write func() error
	if mode == ModeJSON {
		b.contentType = "application/json"
		write = func() error { return b.writeJSON(pw, msg, img) }
	} else {
		mw := multipart.NewWriter(pw)
		b.contentType = mw.FormDataContentType()
		b.boundary = mw.Boundary()
		write = func() error { return b.writeMultipart(mw, msg, img) }
	}
	b.length = bodyLength(mode, msg, b.boundary, size)
	go func() {
		defer close(b.done)
		defer img.Close()
		pw.CloseWithError(write()) // nil closes cleanly
	}()
	return b
}

func (b *body) ContentType() string { return b.contentType }

// bodyLength is the exact body length for an image of size bytes, or -1
// when the size is unknown. Some gateways refuse chunked uploads, so a
// known length is always sent. It writes the envelope around an empty
// image (the boundary and message are fixed by then) and adds the image's
// encoded size, instead of encoding the image twice.
func bodyLength(mode string, msg message, boundary string, size int64) int64 {
	if size < 0 {
		return -1
	}
	var n counter
	b := &body{}
	if mode == ModeJSON {
		if b.writeJSON(&n, msg, eof{}) != nil {
			return -1
		}
		return n.n + int64(base64.StdEncoding.EncodedLen(int(size)))
	}
	mw := multipart.NewWriter(&n)
	if mw.SetBoundary(boundary) != nil || b.writeMultipart(mw, msg, eof{}) != nil {
		return -1
	}
	return n.n + size
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

func (b *body) Read(p []byte) (int, error) { return b.pr.Read(p) }

// Close stops the writer (if the transport gave up early) and waits for it,
// so no goroutine outlives the call and the image is closed.
func (b *body) Close() error {
	b.pr.Close()
	<-b.done
	return nil
}

// ReadErr is the error reading the image, if that is what broke the body.
func (b *body) ReadErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readErr
}

// copyImage copies the image, remembering a read failure as such.
func (b *body) copyImage(dst io.Writer, img io.Reader) error {
	_, err := io.Copy(dst, readerFunc(func(p []byte) (int, error) {
		n, err := img.Read(p)
		if err != nil && !errors.Is(err, io.EOF) {
			b.mu.Lock()
			b.readErr = err
			b.mu.Unlock()
		}
		return n, err
	}))
	return err
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func (b *body) writeMultipart(mw *multipart.Writer, msg message, img io.Reader) error {
	m, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := mw.WriteField("message", string(m)); err != nil {
		return err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+escapeQuotes(msg.Images[0].Name+"."+msg.Images[0].Format)+`"`)
	h.Set("Content-Type", contentTypes[msg.Images[0].Format])
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if err := b.copyImage(part, img); err != nil {
		return err
	}
	return mw.Close()
}

// writeJSON writes {"version":..,"images":[{"format":..,"name":..,"data":"<base64>"}]}
// with the base64 encoded on the fly into the envelope.
func (b *body) writeJSON(w io.Writer, msg message, img io.Reader) error {
	head, err := json.Marshal(struct {
		Version   string `json:"version"`
		RequestID string `json:"requestId"`
		Timestamp int64  `json:"timestamp"`
	}{msg.Version, msg.RequestID, msg.Timestamp})
	if err != nil {
		return err
	}
	format, _ := json.Marshal(msg.Images[0].Format)
	name, _ := json.Marshal(msg.Images[0].Name)
	prefix := string(head[:len(head)-1]) + `,"images":[{"format":` + string(format) + `,"name":` + string(name) + `,"data":"`
	if _, err := io.WriteString(w, prefix); err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if err := b.copyImage(enc, img); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, `"}]}`)
	return err
}

func escapeQuotes(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '"' || r == '\\' || r == '\r' || r == '\n' {
			r = '_'
		}
		out = append(out, r)
	}
	return string(out)
}
