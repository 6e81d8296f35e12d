//go:build heic

package pages

import (
	"bytes"
	"testing"

	"github.com/gen2brain/heic"

	"github.com/ocrbatch/ocrworker/internal/testimages"
)

func TestPrepareHEIC(t *testing.T) {
	data := testimages.HEIC()
	want, err := heic.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p := prepare(t, &Converter{MaxPixels: 100_000_000}, "heic", data, nhn)
	if !p.Converted || p.Format != "jpg" {
		t.Fatalf("converted %v to %s; want a JPEG", p.Converted, p.Format)
	}
	if d := meanDiff(decodeSent(t, p, nhn), want); d > 3 {
		t.Errorf("sent image differs from the HEIC by %.1f", d)
	}
}
