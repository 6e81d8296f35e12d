package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// vendorConfig is one CLOVA account of the bench configs.
type vendorConfig struct {
	rps         float64
	burst       int
	concurrency int
}

// benchConfig is a config with two CLOVA accounts on the emulator, one per
// body mode, both with the same limits; receipts route to multipart.
func benchConfig(v vendorConfig, workerConcurrency int, maxImageBytes int64) string {
	vendor := func(name, mode string) string {
		return fmt.Sprintf(`  %s:
    kind: clova-ocr
    url: {{EMU}}/clova-ocr
    secret: ${CLOVA_OCR_SECRET}
    mode: %s
    rateLimit: {rps: %g, burst: %d}
    concurrency: %d
    timeout: 30s
`, name, mode, v.rps, v.burst, v.concurrency)
	}
	return `redis:
  url: {{REDIS}}
storage:
  endpoint: {{S3}}
  region: us-east-1
  pathStyle: true
vendors:
` + vendor("clova", "multipart") + vendor("clova-json", "json") + fmt.Sprintf(`routes:
  receipt: clova
worker:
  concurrency: %d
  maxRetry: 3
  shutdownTimeout: 10s
  maxImageBytes: %d
`, workerConcurrency, maxImageBytes)
}

// newStack starts a stack for one measurement in its own folder.
func (b *bench) newStack(ctx context.Context, name string, cfg string, emuArgs ...string) (*stack.Stack, error) {
	dir, err := b.stackDir(name)
	if err != nil {
		return nil, err
	}
	return stack.New(ctx, dir, stack.Options{EmulatorArgs: emuArgs, Config: cfg})
}

// clovaCalls is the CLOVA emulator's call counters by outcome ("SUCCESS",
// "0025", ...), summed over endpoints.
func clovaCalls(ctx context.Context, s *stack.Stack) (map[string]int, error) {
	body, err := s.EmulatorAdmin(ctx, "GET", "clova-ocr", "stats", nil)
	if err != nil {
		return nil, err
	}
	var st struct {
		Calls map[string]int `json:"calls"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("emulator stats: %w", err)
	}
	out := map[string]int{}
	for k, n := range st.Calls {
		_, outcome, _ := strings.Cut(k, " ")
		out[outcome] += n
	}
	return out, nil
}

func resetEmulator(ctx context.Context, s *stack.Stack) error {
	_, err := s.EmulatorAdmin(ctx, "POST", "clova-ocr", "reset", nil)
	return err
}

// putMany writes n objects key(i) -> data(i) with a few concurrent PUTs.
func putMany(ctx context.Context, bk storage.Bucket, n, workers int, key func(int) string, data func(int) []byte) error {
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range workers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				d := data(i)
				if _, err := bk.Put(ctx, key(i), bytes.NewReader(d), int64(len(d)), storage.PutOptions{}); err != nil {
					return err
				}
			}
		})
	}
	return g.Wait()
}

// sample is one poll of a counter.
type sample struct {
	at time.Time
	n  int
}

// poller records a counter every interval until it reaches want, the
// context ends, or timeout passes.
func poll(ctx context.Context, interval, timeout time.Duration, want int, read func(context.Context) (int, error)) ([]sample, error) {
	deadline := time.Now().Add(timeout)
	var out []sample
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := read(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, sample{time.Now(), n})
		if n >= want {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("counter at %d of %d after %s", n, want, timeout)
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-t.C:
		}
	}
}

// window is the rate between the first sample at or above from and the
// first at or above to: completions per second over that span.
func window(samples []sample, from, to int) (rate float64, n int, span time.Duration, ok bool) {
	var a, z *sample
	for i := range samples {
		if a == nil && samples[i].n >= from {
			a = &samples[i]
		}
		if samples[i].n >= to {
			z = &samples[i]
			break
		}
	}
	if a == nil || z == nil || !z.at.After(a.at) {
		return 0, 0, 0, false
	}
	span = z.at.Sub(a.at)
	n = z.n - a.n
	return float64(n) / span.Seconds(), n, span, true
}

// stopAll stops processes in parallel (each may take its shutdown timeout).
func stopAll(procs []*stack.Proc) {
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.Stop)
	}
	wg.Wait()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
