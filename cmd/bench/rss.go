package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// rss: a fresh worker per CLOVA body mode processes 3×C images of
// --image-mib each with concurrency C; its peak resident size (VmHWM, read
// from /proc before it stops) is compared with C images' worth of bytes.
// Streaming keeps it near the idle size plus buffers; one copy of each image
// in flight would already make the ratio 1 plus the idle size.
func (b *bench) rss(ctx context.Context) ([]row, error) {
	o := b.o
	c := o.rssConc
	size := int64(o.imageMiB) << 20
	n := 3 * c
	cfg := benchConfig(vendorConfig{rps: 1000, burst: 100, concurrency: c}, c, 2*size)
	s, err := b.newStack(ctx, "rss", cfg)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Store.CreateBucket(ctx, "bench"); err != nil {
		return nil, err
	}
	bk := s.Store.Bucket("bench")
	img := testimages.Large("png", int(size))
	b.logf("rss: putting %d images of %s", n, mib(size))
	if err := putMany(ctx, bk, n, 4, func(i int) string { return fmt.Sprintf("rss/src/%03d.png", i) },
		func(int) []byte { return img }); err != nil {
		return nil, err
	}
	var rows []row
	for _, mode := range []struct{ name, vendor string }{{"multipart", "clova"}, {"json", "clova-json"}} {
		if err := resetEmulator(ctx, s); err != nil {
			return nil, err
		}
		w, err := s.StartWorker("--concurrency", strconv.Itoa(c))
		if err != nil {
			return nil, err
		}
		// Idle: started, connected, waiting for tasks.
		time.Sleep(2 * time.Second)
		idle, err := w.Memory()
		if err != nil {
			w.Stop()
			return nil, err
		}
		out, errOut, code, err := s.Run(ctx, "producer", "enqueue", "--type", "receipt", "--vendor", mode.vendor,
			"--out", "s3://bench/rss/out-"+mode.name+"/", "s3://bench/rss/src/")
		if err != nil || code != 0 {
			w.Stop()
			return nil, fmt.Errorf("producer enqueue: exit %d %v\n%s%s", code, err, out, errOut)
		}
		_, err = poll(ctx, 50*time.Millisecond, 3*time.Minute, n, func(ctx context.Context) (int, error) {
			calls, err := clovaCalls(ctx, s)
			return calls["SUCCESS"], err
		})
		if err != nil {
			w.Stop()
			return nil, fmt.Errorf("%s: %w\n%s", mode.name, err, w.LogTail(20))
		}
		mem, err := w.Memory()
		w.Stop()
		if err != nil {
			return nil, err
		}
		ratio := float64(mem.Peak) / float64(int64(c)*size)
		b.logf("rss %s: idle %s, peak %s, ratio %.3f", mode.name, mib(idle.RSS), mib(mem.Peak), ratio)
		rows = append(rows, row{
			name: fmt.Sprintf("worker peak RSS ÷ (C × image), CLOVA %s", mode.name),
			raw: fmt.Sprintf("VmHWM %s; C=%d × %s = %s; %d images; idle RSS %s",
				mib(mem.Peak), c, mib(size), mib(int64(c)*size), n, mib(idle.RSS)),
			ratio:  fmt.Sprintf("%.3f", ratio),
			target: "≤ 1.5",
			pass:   atMost(ratio, 1.5),
		})
	}
	return rows, nil
}
