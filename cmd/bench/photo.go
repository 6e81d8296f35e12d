package main

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/image/bmp"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// photo: peak RSS with real photo-sized images (issue #15), not small
// images padded to a size. One 4000×3000 colour JPEG (testimages.Photo:
// YCbCr 4:2:0, quality 90, noisy paper with lines, ≈3.5 MiB) is read in
// three ways, each by a fresh worker of concurrency C over N copies:
//
//   - upright: passed through, streamed from S3 into the request, never
//     decoded;
//   - EXIF orientation 6 (held sideways): spooled, decoded, turned and
//     re-encoded as JPEG under the decode budget;
//   - the same pixels as a 24-bit BMP (an old scanner's file, 36 MB):
//     decoded and re-encoded as PNG under the decode budget.
//
// Each worker's VmHWM is compared with what issue #15 allows: the decode
// budget plus 1.5 × C × the image's size. The pass-through run is also
// compared with C × image size alone, the rss measurement's bound, since
// it never decodes.
func (b *bench) photo(ctx context.Context) ([]row, error) {
	o := b.o
	c, n := o.photoConc, o.photoImages
	budget := int64(o.decodeBudgetMiB) << 20
	const w, h = 4000, 3000

	t0 := time.Now()
	upright := testimages.Photo(1, w, h, 1)
	sideways := testimages.Photo(1, w, h, 6)
	decoded, err := jpeg.Decode(bytes.NewReader(upright))
	if err != nil {
		return nil, fmt.Errorf("decode the generated photo: %w", err)
	}
	var bmpBuf bytes.Buffer
	if err := bmp.Encode(&bmpBuf, decoded); err != nil {
		return nil, fmt.Errorf("encode the photo as BMP: %w", err)
	}
	b.logf("photo: generated %d×%d JPEG %s, rotated %s, BMP %s in %s", w, h, mib(int64(len(upright))),
		mib(int64(len(sideways))), mib(int64(bmpBuf.Len())), time.Since(t0).Round(time.Millisecond))

	variants := []struct {
		name, what, ext string
		data            []byte
	}{
		{"upright", "passed through", "jpg", upright},
		{"rotated", "EXIF 6, decoded, turned, re-encoded as JPEG", "jpg", sideways},
		{"bmp", "24-bit BMP, decoded, re-encoded as PNG", "bmp", bmpBuf.Bytes()},
	}

	// The converted BMP (≈14 MB of PNG) must fit maxImageBytes and the
	// emulator's 50 MiB CLOVA body limit.
	cfg := benchConfig(vendorConfig{rps: 1000, burst: 100, concurrency: c}, c, 48<<20) +
		fmt.Sprintf("  decodeBudget: %d\n", budget)
	s, err := b.newStack(ctx, "photo", cfg)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Store.CreateBucket(ctx, "bench"); err != nil {
		return nil, err
	}
	bk := s.Store.Bucket("bench")
	for _, v := range variants {
		if err := putMany(ctx, bk, n, 4, func(i int) string { return fmt.Sprintf("photo/src-%s/%03d.%s", v.name, i, v.ext) },
			func(int) []byte { return v.data }); err != nil {
			return nil, err
		}
	}
	redisOpt, err := asynq.ParseRedisURI(s.Redis.URL)
	if err != nil {
		return nil, err
	}
	insp := asynq.NewInspector(redisOpt)
	defer insp.Close()

	var rows []row
	for _, v := range variants {
		size := int64(len(v.data))
		m, err := b.photoRun(ctx, s, insp, v.name, c, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
		allowed := budget + int64(1.5*float64(c)*float64(size))
		ratio := float64(m.peak) / float64(allowed)
		b.logf("photo %s: idle %s, peak %s, after %s, ratio %.3f, %s, worker CPU %s/image", v.name, mib(m.idle),
			mib(m.peak), mib(m.after), ratio, m.took.Round(time.Millisecond), (m.cpu / time.Duration(n)).Round(time.Millisecond))
		rows = append(rows, row{
			name: fmt.Sprintf("photo %s peak RSS ÷ (budget + 1.5 × C × image)", v.name),
			raw: fmt.Sprintf("%s: VmHWM %s; %s + 1.5 × %d × %s = %s; %d images in %s, worker CPU %s/image; idle %s, after %s",
				v.what, mib(m.peak), mib(budget), c, mib(size), mib(allowed), n, m.took.Round(100*time.Millisecond),
				(m.cpu / time.Duration(n)).Round(10*time.Millisecond), mib(m.idle), mib(m.after)),
			ratio:  fmt.Sprintf("%.3f", ratio),
			target: "≤ 1",
			pass:   atMost(ratio, 1),
		})
		if v.name == "upright" {
			streamRatio := float64(m.peak) / float64(int64(c)*size)
			rows = append(rows, row{
				name: "photo pass-through peak RSS ÷ (C × image)",
				raw: fmt.Sprintf("VmHWM %s; C=%d × %s = %s; never decoded",
					mib(m.peak), c, mib(size), mib(int64(c)*size)),
				ratio:  fmt.Sprintf("%.3f", streamRatio),
				target: "≤ 1.5",
				pass:   atMost(streamRatio, 1.5),
			})
		}
	}
	return rows, nil
}

// photoMemory is one worker's figures for one variant.
type photoMemory struct {
	idle, peak, after int64 // RSS 2 s after start, VmHWM, RSS once done
	took              time.Duration
	cpu               time.Duration // the worker's CPU time for the n images
}

// photoRun starts a fresh worker, enqueues the n sources under
// photo/src-<name>/ and waits until all are processed and the emulator
// answered n successful calls.
func (b *bench) photoRun(ctx context.Context, s *stack.Stack, insp *asynq.Inspector, name string, c, n int) (photoMemory, error) {
	var m photoMemory
	if err := resetEmulator(ctx, s); err != nil {
		return m, err
	}
	qi, err := insp.GetQueueInfo("default")
	base := 0
	if err == nil {
		base = qi.ProcessedTotal
	}
	w, err := s.StartWorker("--concurrency", strconv.Itoa(c))
	if err != nil {
		return m, err
	}
	defer w.Stop()
	time.Sleep(2 * time.Second) // idle: started, connected, waiting
	idle, err := w.Memory()
	if err != nil {
		return m, err
	}
	m.idle = idle.RSS
	cpu0, _ := stack.CPUTime(w.Cmd.Process.Pid)
	start := time.Now()
	out, errOut, code, err := s.Run(ctx, "producer", "enqueue", "--type", "receipt", "--vendor", "clova",
		"--out", "s3://bench/photo/out-"+name+"/", "s3://bench/photo/src-"+name+"/")
	if err != nil || code != 0 {
		return m, fmt.Errorf("producer enqueue: exit %d %v\n%s%s", code, err, out, errOut)
	}
	_, err = poll(ctx, 50*time.Millisecond, 3*time.Minute, n, func(context.Context) (int, error) {
		qi, err := insp.GetQueueInfo("default")
		if err != nil {
			return 0, err
		}
		return qi.ProcessedTotal - base, nil
	})
	if err != nil {
		return m, fmt.Errorf("%w\n%s", err, w.LogTail(20))
	}
	m.took = time.Since(start)
	cpu1, _ := stack.CPUTime(w.Cmd.Process.Pid)
	m.cpu = cpu1 - cpu0
	mem, err := w.Memory()
	if err != nil {
		return m, err
	}
	m.peak, m.after = mem.Peak, mem.RSS
	calls, err := clovaCalls(ctx, s)
	if err != nil {
		return m, err
	}
	if calls["SUCCESS"] != n {
		return m, fmt.Errorf("the emulator answered %v for %d images\n%s", calls, n, w.LogTail(20))
	}
	return m, nil
}
