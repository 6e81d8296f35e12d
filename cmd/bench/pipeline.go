package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// enqueueWorkers is the producer's default parallelism; the raw asynq
// enqueues and the no-op tasks use the same.
const enqueueWorkers = 8

// pipeline: the worker's documents/s with a zero-latency, unlimited
// emulator, against a bare asynq server running no-op tasks with the same
// concurrency and queues on the same Redis. Both are timed the same way:
// every task is queued first, then the processor starts, and the rate is
// the completions (asynq's processed counter) per second from the first
// poll that saw one to the poll that saw the last, so process start-up is
// not counted on either side.
func (b *bench) pipeline(ctx context.Context) ([]row, error) {
	o := b.o
	// The shared limiter stays on (every real deployment has one) but far
	// above what the machine can do, so its Redis round trip is counted.
	cfg := benchConfig(vendorConfig{rps: 100000, burst: 1000, concurrency: o.pipeConc}, o.pipeConc, 2<<20)
	s, err := b.newStack(ctx, "pipeline", cfg)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Store.CreateBucket(ctx, "bench"); err != nil {
		return nil, err
	}
	bk := s.Store.Bucket("bench")
	b.logf("pipeline: putting %d documents", o.docs)
	if err := putMany(ctx, bk, o.docs, 8, func(i int) string { return fmt.Sprintf("pipe/src/%06d.png", i) },
		func(i int) []byte { return testimages.PNG(int64(i+1), 32, 32, nil) }); err != nil {
		return nil, err
	}
	out, errOut, code, err := s.Run(ctx, "producer", "enqueue", "--type", "receipt", "--out", "s3://bench/pipe/out/", "s3://bench/pipe/src/")
	if err != nil || code != 0 {
		return nil, fmt.Errorf("producer enqueue: exit %d %v\n%s%s", code, err, out, errOut)
	}
	redisOpt, err := asynq.ParseRedisURI(s.Redis.URL)
	if err != nil {
		return nil, err
	}
	insp := asynq.NewInspector(redisOpt)
	defer insp.Close()
	processed := func(base int) func(context.Context) (int, error) {
		return func(context.Context) (int, error) {
			qi, err := insp.GetQueueInfo("default")
			if err != nil {
				return 0, err
			}
			return qi.ProcessedTotal - base, nil
		}
	}

	worker, err := s.StartWorker("--concurrency", strconv.Itoa(o.pipeConc))
	if err != nil {
		return nil, err
	}
	// Where the CPU goes on the shared cores explains the ratio.
	pids := []struct {
		name string
		pid  int
	}{{"worker", worker.Cmd.Process.Pid}, {"MinIO", s.MinIO.Pid()}, {"emulator", s.Emulator.Cmd.Process.Pid}, {"Redis", s.Redis.Pid()}}
	cpu0 := make([]time.Duration, len(pids))
	for i, p := range pids {
		cpu0[i], _ = stack.CPUTime(p.pid)
	}
	samples, err := poll(ctx, 10*time.Millisecond, 5*time.Minute, o.docs, processed(0))
	var split []string
	for i, p := range pids {
		if t, cerr := stack.CPUTime(p.pid); cerr == nil {
			split = append(split, fmt.Sprintf("%s %.1f", p.name, float64((t-cpu0[i]).Microseconds())/1000/float64(o.docs)))
		}
	}
	worker.Stop()
	if err != nil {
		return nil, err
	}
	docRate, docN, docSpan, ok := window(samples, 1, o.docs)
	if !ok {
		return nil, fmt.Errorf("too few samples to measure documents/s (%d)", len(samples))
	}
	calls, err := clovaCalls(ctx, s)
	if err != nil {
		return nil, err
	}
	if calls["SUCCESS"] != o.docs {
		return nil, fmt.Errorf("the emulator answered %d successful calls for %d documents: %v", calls["SUCCESS"], o.docs, calls)
	}
	b.logf("pipeline: %s; %d documents in %s = %.1f docs/s; CPU ms/doc: %s", strings.TrimSpace(out), docN,
		docSpan.Round(time.Millisecond), docRate, strings.Join(split, ", "))

	// The same Redis, queue and concurrency; a handler that does nothing.
	qi, err := insp.GetQueueInfo("default")
	if err != nil {
		return nil, err
	}
	base := qi.ProcessedTotal
	client := asynq.NewClient(redisOpt)
	defer client.Close()
	if err := enqueueNoop(ctx, client, o.noopTasks); err != nil {
		return nil, err
	}
	var handled atomic.Int64
	srv := asynq.NewServer(redisOpt, asynq.Config{
		Concurrency: o.pipeConc,
		Queues:      map[string]int{"critical": 6, "default": 3, "backfill": 1}, // the worker's default
		LogLevel:    asynq.WarnLevel,
	})
	if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		handled.Add(1)
		return nil
	})); err != nil {
		return nil, err
	}
	samples, err = poll(ctx, 10*time.Millisecond, 5*time.Minute, o.noopTasks, processed(base))
	srv.Shutdown()
	if err != nil {
		return nil, err
	}
	noopRate, noopN, noopSpan, ok := window(samples, 1, o.noopTasks)
	if !ok {
		return nil, fmt.Errorf("too few samples to measure no-op tasks/s (%d)", len(samples))
	}
	b.logf("pipeline: %d no-op tasks in %s = %.1f tasks/s (handled %d)", noopN, noopSpan.Round(time.Millisecond), noopRate, handled.Load())
	ratio := docRate / noopRate
	return []row{{
		name: fmt.Sprintf("pipeline docs/s ÷ asynq no-op tasks/s (concurrency %d)", o.pipeConc),
		raw: fmt.Sprintf("%.1f docs/s (%d docs) vs %.0f tasks/s (%d tasks); CPU ms/doc: %s",
			docRate, o.docs, noopRate, o.noopTasks, strings.Join(split, ", ")),
		ratio:  fmt.Sprintf("%.3f", ratio),
		target: "report",
		pass:   noGoal,
	}}, nil
}

func enqueueNoop(ctx context.Context, client *asynq.Client, n int) error {
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range enqueueWorkers {
		g.Go(func() error {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return nil
				}
				if _, err := client.EnqueueContext(ctx, asynq.NewTask("bench:noop", nil)); err != nil {
					return err
				}
			}
		})
	}
	return g.Wait()
}
