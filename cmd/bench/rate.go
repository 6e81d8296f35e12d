package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// rate: the emulator enforces the same limit as the config (CLOVA answers
// 400 0025 above it) and answers in 100–400 ms; three worker processes
// share the limit through Redis. Achieved rate is the emulator's successful
// calls per second over the steady part of the run: from the first poll
// after the initial burst has been answered to the poll that saw the last
// call. The burst is left out because GCRA rightly lets it through at once,
// which would overstate a rate measured from the very first call.
func (b *bench) rate(ctx context.Context) ([]row, error) {
	o := b.o
	docs := int(math.Ceil(o.rps * o.rateSeconds))
	cfg := benchConfig(vendorConfig{rps: o.rps, burst: o.burst, concurrency: o.rateConc}, o.rateConc, 2<<20)
	s, err := b.newStack(ctx, "rate", cfg, "--rps", strconv.FormatFloat(o.rps, 'g', -1, 64), "--burst", strconv.Itoa(o.burst),
		"--latency", "100ms", "--jitter", "300ms")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Store.CreateBucket(ctx, "bench"); err != nil {
		return nil, err
	}
	bk := s.Store.Bucket("bench")
	b.logf("rate: putting %d documents", docs)
	if err := putMany(ctx, bk, docs, 8, func(i int) string { return fmt.Sprintf("rate/src/%06d.png", i) },
		func(i int) []byte { return testimages.PNG(int64(i+1), 32, 32, nil) }); err != nil {
		return nil, err
	}
	out, errOut, code, err := s.Run(ctx, "producer", "enqueue", "--type", "receipt", "--out", "s3://bench/rate/out/", "s3://bench/rate/src/")
	if err != nil || code != 0 {
		return nil, fmt.Errorf("producer enqueue: exit %d %v\n%s%s", code, err, out, errOut)
	}
	b.logf("rate: %s; starting %d workers at %g rps, burst %d", strings.TrimSpace(out), o.workers, o.rps, o.burst)

	var procs []*stack.Proc
	defer func() { stopAll(procs) }()
	for range o.workers {
		p, err := s.StartWorker("--concurrency", strconv.Itoa(o.rateConc))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	var throttled int
	read := func(ctx context.Context) (int, error) {
		c, err := clovaCalls(ctx, s)
		throttled = c["0025"]
		return c["SUCCESS"], err
	}
	timeout := time.Duration(float64(docs)/o.rps*2*float64(time.Second)) + time.Minute
	samples, err := poll(ctx, 20*time.Millisecond, timeout, docs, read)
	if err != nil {
		return nil, err
	}
	stopAll(procs)
	procs = nil
	final, err := clovaCalls(ctx, s)
	if err != nil {
		return nil, err
	}
	throttled = final["0025"]

	from := min(3*o.burst, docs/4)
	achieved, n, span, ok := window(samples, from, docs)
	if !ok {
		return nil, fmt.Errorf("too few samples to measure a rate (%d)", len(samples))
	}
	_, _, whole, _ := window(samples, 1, docs)
	ratio := achieved / o.rps
	b.logf("rate: %d calls in %s (steady %d in %s = %.2f/s), %d throttled", docs, whole.Round(time.Millisecond), n, span.Round(time.Millisecond), achieved, throttled)
	return []row{
		{
			name: fmt.Sprintf("vendor rate ÷ limit (%d workers × %d, 100–400 ms)", o.workers, o.rateConc),
			raw: fmt.Sprintf("%.2f calls/s of %g/s (burst %d): %d calls in %.1f s after the first %d",
				achieved, o.rps, o.burst, n, span.Seconds(), from),
			ratio:  fmt.Sprintf("%.3f", ratio),
			target: "≥ 0.97",
			pass:   atLeast(ratio, 0.97),
		},
		{
			name:   "vendor-side throttles (CLOVA 0025, its 429)",
			raw:    fmt.Sprintf("%d of %d calls", throttled, docs+throttled),
			ratio:  strconv.Itoa(throttled),
			target: "0",
			pass:   atMost(float64(throttled), 0),
		},
	}, nil
}
