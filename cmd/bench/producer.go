package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// producer: `producer enqueue` of a prefix of N objects (the binary, one
// run, wall time including its start-up and the listing) against raw asynq
// Client.Enqueue of N recognize tasks from Go: the same payloads, task IDs
// and options, the same Redis, the same parallelism as the producer
// (enqueueWorkers goroutines).
func (b *bench) producer(ctx context.Context) ([]row, error) {
	o := b.o
	cfg := benchConfig(vendorConfig{rps: 100, burst: 100, concurrency: 8}, 8, 2<<20)
	s, err := b.newStack(ctx, "producer", cfg)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Store.CreateBucket(ctx, "bench"); err != nil {
		return nil, err
	}
	bk := s.Store.Bucket("bench")
	key := func(i int) string { return fmt.Sprintf("prod/src/%06d.png", i) }
	t0 := time.Now()
	if err := fill(ctx, bk, o.objects, key); err != nil {
		return nil, err
	}
	b.logf("producer: %d objects in place after %s", o.objects, time.Since(t0).Round(time.Millisecond))

	// Raw asynq: what enqueueing costs with nothing else around it.
	redisOpt, err := asynq.ParseRedisURI(s.Redis.URL)
	if err != nil {
		return nil, err
	}
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	opts := []asynq.Option{asynq.MaxRetry(3), asynq.Timeout(5 * time.Minute)}
	// CPU per task of each process involved explains the ratio on a
	// machine whose two cores they all share.
	cpu := func(pid int) time.Duration { t, _ := stack.CPUTime(pid); return t }
	redis0, minio0, self0 := cpu(s.Redis.Pid()), cpu(s.MinIO.Pid()), cpu(os.Getpid())
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	start := time.Now()
	for range enqueueWorkers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= o.objects {
					return nil
				}
				t, err := layout.NewRecognizeTask(layout.Recognize{Source: "s3://bench/" + key(i), Type: "receipt",
					Out: "s3://bench/prod/raw-out/", Batch: "bench-raw"}, opts...)
				if err != nil {
					return err
				}
				if _, err := client.EnqueueContext(gctx, t); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rawTook := time.Since(start)
	rawRate := float64(o.objects) / rawTook.Seconds()
	perTask := func(d time.Duration) string {
		return fmt.Sprintf("%.0f", float64(d.Nanoseconds())/1000/float64(o.objects))
	}
	rawCPU := fmt.Sprintf("client %s, Redis %s", perTask(cpu(os.Getpid())-self0), perTask(cpu(s.Redis.Pid())-redis0))
	b.logf("producer: raw asynq enqueue of %d tasks in %s = %.0f tasks/s; CPU µs/task: %s", o.objects, rawTook.Round(time.Millisecond), rawRate, rawCPU)

	redis0, minio0 = cpu(s.Redis.Pid()), cpu(s.MinIO.Pid())
	start = time.Now()
	p, err := s.Start("producer", "enqueue", "--type", "receipt", "--out", "s3://bench/prod/out/", "s3://bench/prod/src/")
	if err != nil {
		return nil, err
	}
	err = p.Wait(5 * time.Minute)
	prodTook := time.Since(start)
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("producer enqueue: %v\n%s", err, p.LogTail(20))
	}
	ps := p.Cmd.ProcessState
	prodCPU := fmt.Sprintf("producer %s, Redis %s, MinIO %s", perTask(ps.UserTime()+ps.SystemTime()),
		perTask(cpu(s.Redis.Pid())-redis0), perTask(cpu(s.MinIO.Pid())-minio0))
	out := p.LogTail(1)
	if want := fmt.Sprintf("enqueued %d skipped 0 ", o.objects); !strings.HasPrefix(strings.TrimSpace(out), want) {
		return nil, fmt.Errorf("producer printed %q, want %q...", strings.TrimSpace(out), want)
	}
	prodRate := float64(o.objects) / prodTook.Seconds()
	b.logf("producer: %s in %s = %.0f tasks/s; CPU µs/task: %s", strings.TrimSpace(out), prodTook.Round(time.Millisecond), prodRate, prodCPU)
	ratio := prodRate / rawRate
	return []row{{
		name: fmt.Sprintf("producer enqueue ÷ raw asynq enqueue (%d objects)", o.objects),
		raw: fmt.Sprintf("%.0f tasks/s (%.1f s, whole command; CPU µs/task: %s) vs %.0f tasks/s (%.1f s, %d goroutines; CPU µs/task: %s)",
			prodRate, prodTook.Seconds(), prodCPU, rawRate, rawTook.Seconds(), enqueueWorkers, rawCPU),
		ratio:  fmt.Sprintf("%.3f", ratio),
		target: "≥ 0.8",
		pass:   atLeast(ratio, 0.8),
	}}, nil
}

// fill creates n tiny objects. MinIO extracts a tar uploaded with
// Snowball-Auto-Extract into one object per entry, far faster than n PUTs;
// if the store does not (another S3), it falls back to concurrent PUTs.
func fill(ctx context.Context, bk storage.Bucket, n int, key func(int) string) error {
	data := testimages.PNG(1, 8, 8, nil)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := time.Now().Truncate(time.Second)
	for i := range n {
		if err := tw.WriteHeader(&tar.Header{Name: key(i), Mode: 0o644, Size: int64(len(data)), ModTime: mod,
			Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := bk.Put(ctx, "prod/snowball.tar", bytes.NewReader(buf.Bytes()), int64(buf.Len()),
		storage.PutOptions{Metadata: map[string]string{"Snowball-Auto-Extract": "true"}})
	if err == nil {
		got := 0
		err = bk.List(ctx, "prod/src/", "", func(storage.ObjectInfo) error { got++; return nil })
		if err == nil && got == n {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%d of %d objects extracted", got, n)
		}
	}
	fmt.Printf("snowball upload did not work (%v): falling back to PUTs\n", err)
	return putMany(ctx, bk, n, 32, key, func(int) []byte { return data })
}
