// Command bench measures the product on a local stack (real redis-server,
// MinIO, the emulator binary and the built worker and producer binaries) and
// prints, from one run, the ratios issue #5 asks for with their raw figures:
//
//   - vendor rate: calls/s achieved ÷ the configured limit, 3 worker
//     processes, 100–400 ms vendor latency, and the vendor-side throttle
//     (CLOVA 0025, its "429") count;
//   - pipeline: documents/s ÷ asynq no-op tasks/s on the same Redis;
//   - memory: worker peak RSS ÷ (concurrency × image size), 10 MiB images,
//     CLOVA multipart and JSON (base64) bodies;
//   - photo: worker peak RSS ÷ (decode budget + 1.5 × concurrency × image
//     size) for a real 4000×3000 JPEG passed through, the same held
//     sideways (EXIF 6: decoded and turned) and as a BMP (converted), issue
//     #15;
//   - producer: `producer enqueue` tasks/s ÷ raw asynq Client.Enqueue
//     tasks/s for 100,000 objects;
//   - scan: Redis memory of windowed scans (1,000,000 generated objects whose
//     window holds; 100,000 end to end) and the open-window scan rate (scan.go);
//   - adaptive (issue 12): no limit in the config, the emulator limited to
//     20 calls/s, to 6 calls in flight, and to 20 calls/s that halves and
//     doubles mid-run: rate ÷ capacity after a warm-up, throttled ÷ calls,
//     seconds to recover (adaptive.go); plus the rate row, configured exactly.
//
// Usage:
//
//	go run ./cmd/bench [--only rate,pipeline,rss,photo,producer,scan,adaptive] [--objects 100000] [--docs 300] [--doc docs/benchmarks.md]
//
// Every figure is a ratio of two measurements taken in the same run on the
// same machine, so the numbers travel between machines better than raw
// speeds do. Speed is measured here, never asserted in tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	only    string
	keep    bool
	docPath string
	dir     string

	// rate
	rps         float64
	burst       int
	rateSeconds float64
	workers     int
	rateConc    int

	// pipeline
	docs      int
	noopTasks int
	pipeConc  int

	// rss
	rssConc  int
	imageMiB int

	// photo
	photoConc       int
	photoImages     int
	decodeBudgetMiB int

	// producer, scan
	objects int

	// scan
	scanSynthetic int

	// adaptive
	adaptScale float64
	adaptRows  string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.only, "only", "rate,pipeline,rss,photo,producer,scan,adaptive", "comma-separated measurements to run")
	fs.StringVar(&o.docPath, "doc", "", "also write the table into this markdown file (between its bench markers)")
	fs.StringVar(&o.dir, "dir", "", "working directory for the stacks (default: a new temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (logs, data) after the run")
	fs.Float64Var(&o.rps, "rps", 20, "rate: the vendor's limit, configured in both the worker and the emulator")
	fs.IntVar(&o.burst, "burst", 5, "rate: the burst, configured in both the worker and the emulator")
	fs.Float64Var(&o.rateSeconds, "rate-seconds", 30, "rate: enqueue this many seconds of work at --rps")
	fs.IntVar(&o.workers, "workers", 3, "rate: worker processes")
	fs.IntVar(&o.rateConc, "rate-concurrency", 8, "rate: concurrency of each worker process")
	fs.IntVar(&o.docs, "docs", 1000, "pipeline: documents through the worker")
	fs.IntVar(&o.noopTasks, "noop-tasks", 10000, "pipeline: no-op tasks through a bare asynq server")
	fs.IntVar(&o.pipeConc, "pipeline-concurrency", 16, "pipeline: worker and no-op server concurrency")
	fs.IntVar(&o.rssConc, "rss-concurrency", 4, "rss: worker concurrency (it processes 3× this many images per mode)")
	fs.IntVar(&o.imageMiB, "image-mib", 10, "rss: image size in MiB")
	fs.IntVar(&o.photoConc, "photo-concurrency", 8, "photo: worker concurrency")
	fs.IntVar(&o.photoImages, "photo-images", 16, "photo: images per variant (upright, rotated, BMP)")
	fs.IntVar(&o.decodeBudgetMiB, "decode-budget-mib", 512, "photo: worker.decodeBudget in MiB")
	fs.IntVar(&o.objects, "objects", 100000, "producer, scan: objects under the enqueued prefix")
	fs.IntVar(&o.scanSynthetic, "scan-synthetic", 1000000, "scan: objects of the generated listing whose window fills and holds")
	fs.StringVar(&o.adaptRows, "adaptive-rows", "", "adaptive: which of rate,inflight,step,exact to run (default all)")
	fs.Float64Var(&o.adaptScale, "adaptive-scale", 1, "adaptive: scale of the warm-up, phase lengths and call counts (below 1: a quick look, not the targets' run)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench [flags]\n\nMeasures rate, throughput, memory and enqueue ratios on a local stack.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, m := range strings.Split(o.only, ",") {
		switch m {
		case "rate", "pipeline", "rss", "photo", "producer", "scan", "adaptive":
		default:
			return nil, fmt.Errorf("--only: unknown measurement %q", m)
		}
	}
	if o.rps <= 0 || o.burst < 1 || o.workers < 1 || o.rateConc < 1 || o.docs < 2 || o.noopTasks < 2 ||
		o.pipeConc < 1 || o.rssConc < 1 || o.imageMiB < 1 || o.photoConc < 1 || o.photoImages < 1 || o.decodeBudgetMiB < 1 ||
		o.objects < 1 || o.rateSeconds <= 0 || o.scanSynthetic < 1 || o.adaptScale <= 0 {
		return nil, errors.New("every count, rate and size must be positive")
	}
	return o, nil
}

func (o *options) wants(m string) bool {
	for _, x := range strings.Split(o.only, ",") {
		if x == m {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ocr-bench-"); err != nil {
			return err
		}
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Fprintf(stderr, "bench: working directory %s\n", dir)
	}
	b := &bench{o: o, dir: dir, log: stderr}
	started := time.Now()
	type step struct {
		name string
		fn   func(context.Context) ([]row, error)
	}
	var rows []row
	for _, s := range []step{{"rate", b.rate}, {"pipeline", b.pipeline}, {"rss", b.rss}, {"photo", b.photo}, {"producer", b.producer}, {"scan", b.scan}, {"adaptive", b.adaptive}} {
		if !o.wants(s.name) {
			continue
		}
		t0 := time.Now()
		b.logf("== %s", s.name)
		r, err := s.fn(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		b.logf("== %s done in %s", s.name, time.Since(t0).Round(time.Second))
		rows = append(rows, r...)
	}
	total := time.Since(started).Round(time.Second)
	table := renderTable(rows)
	fmt.Fprintf(stdout, "\n%s\nwhole run: %s\n", table, total)
	if o.docPath != "" {
		if err := writeDoc(o.docPath, commandLine(args), machine(), table, total); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench: wrote %s\n", o.docPath)
	}
	for _, r := range rows {
		if r.pass == fail {
			return errors.New("a measurement missed its target")
		}
	}
	return nil
}

// bench holds what the measurements share.
type bench struct {
	o   *options
	dir string
	log io.Writer
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// stackDir is a fresh folder for one measurement's stack.
func (b *bench) stackDir(name string) (string, error) {
	d := filepath.Join(b.dir, name)
	if err := os.RemoveAll(d); err != nil {
		return "", err
	}
	return d, os.MkdirAll(d, 0o755)
}

func commandLine(args []string) string {
	if len(args) == 0 {
		return "go run ./cmd/bench"
	}
	return "go run ./cmd/bench " + strings.Join(args, " ")
}
