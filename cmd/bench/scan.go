package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// scanMemoryGoal is the bound of Redis memory a windowed scan may use above
// the empty server, whatever the prefix's size.
const scanMemoryGoal = 64 << 20

// scan: windowed scans (issue 14).
//
//   - Redis used_memory peak above the empty server for a scan of
//     --scan-synthetic objects (a generated listing: synthBucket) whose
//     window (10,000) fills and holds, no worker running; and for --objects
//     objects in MinIO scanned and processed end to end by the worker binary
//     against the zero-latency emulator (`producer enqueue --scan`).
//   - With the window open, the scan's enqueue rate against the smaller of
//     the store's raw listing rate and raw asynq Client.Enqueue, all three on
//     the same MinIO objects and Redis in this run.
func (b *bench) scan(ctx context.Context) ([]row, error) {
	synth, err := b.scanSynthetic(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := b.scanEndToEnd(ctx)
	if err != nil {
		return nil, err
	}
	return append([]row{synth}, rows...), nil
}

const scanWindow = config.WorkerScanWindowDefault

// memoryRow is a used_memory row.
func memoryRow(name string, peak, empty int64, detail string) row {
	above := peak - empty
	ratio := float64(above) / scanMemoryGoal
	return row{
		name:   name,
		raw:    fmt.Sprintf("used_memory peak %s above the empty server's %s; %s", mib(above), mib(empty), detail),
		ratio:  fmt.Sprintf("%.3f", ratio),
		target: "≤ 1 (64 MiB)",
		pass:   atMost(ratio, 1),
	}
}

func usedMemory(ctx context.Context, rdb *redis.Client) (used, peak int64, err error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(l, ":")
		switch k {
		case "used_memory":
			used, _ = strconv.ParseInt(v, 10, 64)
		case "used_memory_peak":
			peak, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return used, peak, nil
}

// scanSynthetic fills and holds the window of a scan of a generated
// listing of o.scanSynthetic objects on a fresh Redis, in this process:
// the scan steps run as a worker runs them (backfill.Handler's call), no
// worker takes the tasks.
func (b *bench) scanSynthetic(ctx context.Context) (row, error) {
	n := b.o.scanSynthetic
	dir, err := b.stackDir("scan-synthetic")
	if err != nil {
		return row{}, err
	}
	srv, err := testenv.RunRedis(filepath.Join(dir, "redis"))
	if err != nil {
		return row{}, err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	empty, _, err := usedMemory(ctx, rdb)
	if err != nil {
		return row{}, err
	}
	cfg, err := config.Parse([]byte("redis: {url: redis://unused}\nvendors:\n  clova: {kind: clova-ocr, url: https://emulator/clova-ocr}\nroutes: {receipt: clova}\n"))
	if err != nil {
		return row{}, err
	}
	tr := batch.New(rdb)
	e := &producer.Enqueuer{Client: asynq.NewClientFromRedisClient(rdb), Store: synthStore{n: n}, Config: cfg, Batches: tr, Log: zerolog.Nop()}
	s := layout.Scan{Source: "s3://synth/s/", Type: "receipt", Out: "s3://synth-out/r/", Queue: "backfill", Batch: "synthetic"}
	start := time.Now()
	var filled time.Duration
	steps := 0
	// Steps poll the full window, as the chain of step tasks does every
	// WindowPoll; here back to back for 5 s after the window filled.
	for ; ; s.Step++ {
		res, err := e.ScanStep(ctx, s, scanWindow, time.Minute)
		if err != nil {
			return row{}, err
		}
		steps++
		if filled == 0 && res.Delay > 0 {
			filled = time.Since(start)
		}
		if filled > 0 && time.Since(start) > filled+5*time.Second {
			break
		}
		if !res.Next {
			return row{}, errors.New("the synthetic scan ended: the window did not hold")
		}
		time.Sleep(100 * time.Millisecond)
	}
	st, err := tr.Get(ctx, "synthetic")
	if err != nil {
		return row{}, err
	}
	_, peak, err := usedMemory(ctx, rdb)
	if err != nil {
		return row{}, err
	}
	b.logf("scan: synthetic %d objects: window filled in %s, held for %d steps; listed %d, in flight %d", n, filled.Round(time.Millisecond), steps, st.Listed, st.InFlight)
	return memoryRow(fmt.Sprintf("Redis peak, scan of %d objects, window fills and holds", n), peak, empty,
		fmt.Sprintf("window %d: listed %d, in flight %d, %d steps over 5 s held; generated listing, no worker", scanWindow, st.Listed, st.InFlight, steps)), nil
}

// scanEndToEnd: o.objects objects in MinIO. First end to end (a fresh
// Redis; the worker binary, concurrency 16, zero-latency emulator), then,
// on the same objects after FLUSHALL, the three enqueue rates.
func (b *bench) scanEndToEnd(ctx context.Context) ([]row, error) {
	o := b.o
	cfg := benchConfig(vendorConfig{rps: 100000, burst: 100000, concurrency: 64}, 16, 2<<20)
	cfg = strings.Replace(cfg, "\nworker:\n", fmt.Sprintf("\nworker:\n  scanWindow: %d\n", scanWindow), 1)
	s, err := b.newStack(ctx, "scan", cfg)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr})
	defer rdb.Close()
	empty, _, err := usedMemory(ctx, rdb)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateBucket(ctx, "bench"); err != nil {
		return nil, err
	}
	bk := s.Store.Bucket("bench")
	key := func(i int) string { return fmt.Sprintf("prod/src/%06d.png", i) }
	t0 := time.Now()
	if err := fill(ctx, bk, o.objects, key); err != nil {
		return nil, err
	}
	b.logf("scan: %d objects in place after %s", o.objects, time.Since(t0).Round(time.Millisecond))

	w, err := s.StartWorker()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := s.Start("producer", "enqueue", "--scan", "--type", "receipt", "--out", "s3://bench/scan/out/", "--batch", "e2e", "s3://bench/prod/src/")
	if err != nil {
		return nil, err
	}
	if err := p.Wait(time.Minute); err != nil {
		return nil, fmt.Errorf("producer enqueue --scan: %v\n%s", err, p.LogTail(20))
	}
	tr := batch.New(rdb)
	var st batch.Status
	var mostInFlight int64
	for {
		if st, err = tr.Get(ctx, "e2e"); err != nil && !errors.Is(err, batch.ErrNotFound) {
			return nil, err
		}
		mostInFlight = max(mostInFlight, st.InFlight)
		if st.Done {
			break
		}
		if time.Since(start) > 20*time.Minute {
			return nil, fmt.Errorf("end to end scan not done after 20 minutes: %+v", st)
		}
		time.Sleep(250 * time.Millisecond)
	}
	took := time.Since(start)
	_, peak, err := usedMemory(ctx, rdb)
	if err != nil {
		return nil, err
	}
	w.Stop()
	b.logf("scan: end to end %d docs in %s: %+v", o.objects, took.Round(time.Millisecond), st)
	if st.Succeeded != int64(o.objects) {
		return nil, fmt.Errorf("end to end: %d of %d succeeded", st.Succeeded, o.objects)
	}
	mem := memoryRow(fmt.Sprintf("Redis peak, scan of %d objects end to end", o.objects), peak, empty,
		fmt.Sprintf("window %d: most in flight %d; %d docs in %.1f s (%.0f docs/s), 1 worker × 16, zero-latency emulator, MinIO",
			scanWindow, mostInFlight, st.Succeeded, took.Seconds(), float64(st.Succeeded)/took.Seconds()))

	// The rates, on the same objects, nothing processing them.
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		return nil, err
	}
	t0 = time.Now()
	listed := 0
	if err := bk.List(ctx, "prod/src/", "", func(storage.ObjectInfo) error { listed++; return nil }); err != nil {
		return nil, err
	}
	listRate := float64(listed) / time.Since(t0).Seconds()
	client := asynq.NewClientFromRedisClient(rdb)
	opts := []asynq.Option{asynq.MaxRetry(layout.RetryCeiling), asynq.Timeout(5 * time.Minute)}
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	t0 = time.Now()
	for range enqueueWorkers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= o.objects {
					return nil
				}
				t, err := layout.NewRecognizeTask(layout.Recognize{Source: "s3://bench/" + key(i), Type: "receipt",
					Out: "s3://bench/scan/raw-out/", Batch: "raw"}, opts...)
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
	rawRate := float64(o.objects) / time.Since(t0).Seconds()
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		return nil, err
	}
	pcfg, err := config.Load(s.ConfigPath)
	if err != nil {
		return nil, err
	}
	e := &producer.Enqueuer{Client: client, Store: s.Store, Config: pcfg, Batches: batch.New(rdb), Log: zerolog.Nop()}
	sc := layout.Scan{Source: "s3://bench/prod/src/", Type: "receipt", Out: "s3://bench/scan/open-out/", Queue: "default", Batch: "open"}
	t0 = time.Now()
	var enq int64
	for ; ; sc.Step++ {
		res, err := e.ScanStep(ctx, sc, 1<<30, time.Minute)
		if err != nil {
			return nil, err
		}
		enq += res.Enqueued
		if !res.Next {
			break
		}
	}
	scanTook := time.Since(t0)
	scanRate := float64(enq) / scanTook.Seconds()
	if enq != int64(o.objects) {
		return nil, fmt.Errorf("open-window scan enqueued %d of %d", enq, o.objects)
	}
	ref := min(listRate, rawRate)
	ratio := scanRate / ref
	b.logf("scan: open window %.0f tasks/s; raw listing %.0f objects/s; raw asynq %.0f tasks/s", scanRate, listRate, rawRate)
	return []row{mem, {
		name: fmt.Sprintf("scan enqueue, window open ÷ min(raw listing, raw asynq) (%d objects)", o.objects),
		raw: fmt.Sprintf("%.0f tasks/s (%.1f s, scan steps in process) vs listing %.0f objects/s (MinIO), asynq %.0f tasks/s (%d goroutines)",
			scanRate, scanTook.Seconds(), listRate, rawRate, enqueueWorkers),
		ratio:  fmt.Sprintf("%.3f", ratio),
		target: "≥ 0.8",
		pass:   atLeast(ratio, 0.8),
	}}, nil
}

// synthStore is a store whose bucket "synth" lists n generated keys
// s/000000000.png … in key order (every other bucket is empty): a listing
// of any size without storing it.
type synthStore struct{ n int }

func (s synthStore) Bucket(name string) storage.Bucket { return synthBucket{name: name, n: s.n} }

type synthBucket struct {
	name string
	n    int
}

func (b synthBucket) Name() string { return b.name }

func (b synthBucket) key(i int) string { return fmt.Sprintf("s/%09d.png", i) }

func (b synthBucket) List(ctx context.Context, prefix, after string, fn func(storage.ObjectInfo) error) error {
	if b.name != "synth" || !strings.HasPrefix("s/", prefix) && !strings.HasPrefix(prefix, "s/") {
		return nil
	}
	i := 0
	if after != "" {
		if _, err := fmt.Sscanf(after, "s/%09d.png", &i); err != nil {
			return err
		}
		i++
	}
	for ; i < b.n; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(storage.ObjectInfo{Key: b.key(i), ETag: `"synthetic"`, Size: 100}); err != nil {
			return err
		}
	}
	return nil
}

func (b synthBucket) Head(_ context.Context, key string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, storage.ErrNotFound
}

func (b synthBucket) Get(context.Context, string) (io.ReadCloser, storage.ObjectInfo, error) {
	return nil, storage.ObjectInfo{}, storage.ErrNotFound
}

func (b synthBucket) Put(context.Context, string, io.Reader, int64, storage.PutOptions) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, errors.New("synthetic bucket: read only")
}

func (b synthBucket) Delete(context.Context, string) error { return nil }
