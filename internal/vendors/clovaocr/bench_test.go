package clovaocr

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// BenchmarkRecognize10MiB sends a 10 MiB image in each body mode to a
// server that discards it. B/op shows the body is streamed: it stays far
// below the image size (base64 alone would be 13.3 MiB).
func BenchmarkRecognize10MiB(b *testing.B) {
	answer, err := os.ReadFile("testdata/receipt.json")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	image := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 10<<20/4)
	for _, mode := range []string{ModeMultipart, ModeJSON} {
		b.Run(mode, func(b *testing.B) {
			c, err := New(Options{URL: srv.URL, Secret: "s", Mode: mode})
			if err != nil {
				b.Fatal(err)
			}
			img := vendors.Image{Name: "image", Format: "png", Size: int64(len(image)),
				Open: func(context.Context) (io.ReadCloser, error) {
					return io.NopCloser(bytes.NewReader(image)), nil
				}}
			b.SetBytes(int64(len(image)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Recognize(b.Context(), &vendors.Request{DocumentType: result.TypeReceipt, Image: img}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse normalizes the seed's receipt answer.
func BenchmarkParse(b *testing.B) {
	answer, err := os.ReadFile("testdata/receipt.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(result.TypeReceipt, answer, ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
