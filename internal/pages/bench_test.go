package pages

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// peakHeap runs f and returns the most live heap it added, sampled every
// millisecond.
func peakHeap(f func()) uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	metrics.Read(s)
	base := s[0].Value.Uint64()
	peak := base
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return peak - base
}

// BenchmarkPreparePhoto measures a real photo-sized image: a 4000×3000
// colour JPEG, passed through (upright) and converted (EXIF orientation 6,
// held sideways), reporting peak live heap per conversion. Run with
// go test -run '^$' -bench PreparePhoto -benchtime 3x ./internal/pages/
func BenchmarkPreparePhoto(b *testing.B) {
	for _, tt := range []struct {
		name        string
		orientation int
	}{{"passthrough", 1}, {"rotated", 6}} {
		b.Run(tt.name, func(b *testing.B) {
			photo := testimages.Photo(1, 4000, 3000, tt.orientation)
			c := &Converter{Budget: NewBudget(512 << 20), MaxPixels: 100_000_000, TempDir: b.TempDir()}
			b.SetBytes(int64(len(photo)))
			var peak uint64
			b.ResetTimer()
			for range b.N {
				peak = max(peak, peakHeap(func() {
					p, err := c.Prepare(context.Background(), bytesImage("jpg", photo), nhn)
					if err != nil {
						b.Fatal(err)
					}
					if p.Converted != (tt.orientation != 1) {
						b.Fatalf("converted %v", p.Converted)
					}
					p.Close()
				}))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(len(photo))/(1<<20), "image-MiB")
		})
	}
}
