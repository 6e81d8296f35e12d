package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mattn/go-isatty"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/cli"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/setup"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/tasks"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendorset"
)

// env is what every subcommand needs, built from the global flags.
type env struct {
	cfg *config.Config
	log zerolog.Logger
	rdb redis.UniversalClient
}

// parse registers the globals on fs, parses args, and checks the
// positional argument count.
func parse(fs *flag.FlagSet, g *cli.Globals, args []string, stdout io.Writer, usage string, minArgs, maxArgs int) ([]string, error) {
	g.Register(fs)
	pos, err := cli.Parse(fs, args)
	if err == flag.ErrHelp {
		cli.PrintUsage(stdout, fs, usage)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if len(pos) < minArgs || (maxArgs >= 0 && len(pos) > maxArgs) {
		return nil, cli.Usagef("%s", usage)
	}
	return pos, nil
}

func load(g cli.Globals, stderr io.Writer) (*env, error) {
	log, err := cli.Logger(stderr, g.LogFormat, g.LogLevel)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(config.Path(g.Config))
	if err != nil {
		return nil, err
	}
	_, rdb, err := setup.Redis(cfg)
	if err != nil {
		return nil, err
	}
	return &env{cfg: cfg, log: log, rdb: rdb}, nil
}

// tracker is the batch tracker with the configured retention.
func (e *env) tracker() *batch.Tracker {
	return batch.New(e.rdb, batch.WithRetention(e.cfg.Batches.Retention.D()))
}

const enqueueUsage = `usage: producer enqueue --type TYPE [--vendor NAME] --out s3://BUCKET/PREFIX/|file:///DIR/ [--batch ID] [--queue Q]
                        [--force] [--dry-run] [--verify] [--pii full|masked] [--face s3://B/FACE] SOURCE...
       producer enqueue --scan [flags] (s3://BUCKET/PREFIX/ | @s3://BUCKET/MANIFEST.jsonl)`

func runEnqueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		g  cli.Globals
		fs = flag.NewFlagSet("enqueue", flag.ContinueOnError)
		f  = registerEnqueueFlags(fs)
	)
	var scan bool
	fs.BoolVar(&scan, "scan", false, "let the workers list the SOURCE (a prefix, or a stored manifest @s3://b/k) in a window of worker.scanWindow tasks; returns once the scan is queued")
	sources, err := parse(fs, &g, args, stdout, enqueueUsage, 1, -1)
	if err != nil {
		return err
	}
	if scan && (len(sources) != 1 || f.o.DryRun) {
		return cli.Usagef("--scan takes one SOURCE (a prefix or @s3://bucket/manifest) and no --dry-run\n%s", enqueueUsage)
	}
	if scan && strings.HasPrefix(sources[0], "@") && !storedManifest(sources[0][1:]) {
		return cli.Usagef("--scan reads a manifest from the object store: @s3://bucket/key or @file:///path\n%s", enqueueUsage)
	}
	o, err := f.options(sources, enqueueUsage)
	if err != nil {
		return err
	}
	e, err := load(g, stderr)
	if err != nil {
		return err
	}
	store, err := setup.Store(ctx, e.cfg)
	if err != nil {
		return err
	}
	enq, done := newEnqueuer(e, store, o.Queue, stderr)
	if scan {
		done()
		return enqueueScan(ctx, e, enq, sources[0], o, stdout)
	}
	sum, err := enq.Run(ctx, sources, o)
	done()
	if err != nil {
		return enqueueError(err)
	}
	if o.DryRun {
		if err := printDryRunCost(ctx, stdout, e, sum.Calls); err != nil { // limits.go
			return err
		}
	}
	fmt.Fprintln(stdout, summaryLine(sum, o))
	return nil
}

const statusUsage = "usage: producer status BATCH [--follow]"

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		g      cli.Globals
		follow bool
		fs     = flag.NewFlagSet("status", flag.ContinueOnError)
	)
	fs.BoolVar(&follow, "follow", false, "show a progress bar until the batch is done (the default on a terminal)")
	fs.BoolVar(&follow, "f", false, "short for --follow")
	pos, err := parse(fs, &g, args, stdout, statusUsage, 1, 1)
	if err != nil {
		return err
	}
	if err := layout.CheckBatchID(pos[0]); err != nil {
		return cli.Usagef("%v", err)
	}
	e, err := load(g, stderr)
	if err != nil {
		return err
	}
	t := e.tracker()
	s, err := t.Get(ctx, pos[0])
	if err != nil {
		return err
	}
	// On a terminal a running batch is followed with a progress bar;
	// scripts get one line unless they ask for --follow.
	if !s.Done && (follow || isTerminal(stderr)) {
		if s, err = t.Follow(ctx, stderr, pos[0], time.Second); err != nil {
			return err
		}
	}
	if err := batch.Print(stdout, s); err != nil {
		return err
	}
	if err := printVendorLimits(ctx, stdout, e, s); err != nil { // limits.go
		return err
	}
	return printWebhooks(ctx, stdout, e, pos[0]) // notify.go
}

func runBatches(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		g     cli.Globals
		limit int64
		fs    = flag.NewFlagSet("batches", flag.ContinueOnError)
	)
	fs.Int64Var(&limit, "limit", 20, "how many batches")
	if _, err := parse(fs, &g, args, stdout, "usage: producer batches [--limit N]", 0, 0); err != nil {
		return err
	}
	e, err := load(g, stderr)
	if err != nil {
		return err
	}
	t := e.tracker()
	ids, err := t.List(ctx, limit)
	if err != nil {
		return err
	}
	for _, id := range ids {
		s, err := t.Get(ctx, id)
		if errors.Is(err, batch.ErrNotFound) {
			continue // expired (batches.retention), not yet trimmed from the index
		}
		if err != nil {
			return err
		}
		if err := batch.Print(stdout, s); err != nil {
			return err
		}
	}
	return nil
}

func runResume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var g cli.Globals
	fs := flag.NewFlagSet("resume", flag.ContinueOnError)
	pos, err := parse(fs, &g, args, stdout, "usage: producer resume VENDOR", 1, 1)
	if err != nil {
		return err
	}
	e, err := load(g, stderr)
	if err != nil {
		return err
	}
	if _, ok := e.cfg.Vendors[pos[0]]; !ok {
		return cli.Usagef("vendor %q is not configured", pos[0])
	}
	was, err := ratelimit.NewGate(e.rdb).Resume(ctx, pos[0])
	if err != nil {
		return err
	}
	// Tasks that met the halt wait in asynq's retry set until the halt's end.
	woken, err := tasks.RunWaiting(asynq.NewInspectorFromRedisClient(e.rdb))
	if err != nil {
		return err
	}
	if was {
		fmt.Fprintf(stdout, "resumed %s; %d waiting tasks run now\n", pos[0], woken)
	} else {
		fmt.Fprintf(stdout, "%s was not halted; %d waiting tasks run now\n", pos[0], woken)
	}
	return nil
}

func runHalt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		g   cli.Globals
		dur time.Duration
		fs  = flag.NewFlagSet("halt", flag.ContinueOnError)
	)
	fs.DurationVar(&dur, "for", time.Hour, "how long before workers try the vendor again by themselves")
	pos, err := parse(fs, &g, args, stdout, "usage: producer halt VENDOR [--for 1h]", 1, 1)
	if err != nil {
		return err
	}
	e, err := load(g, stderr)
	if err != nil {
		return err
	}
	if _, ok := e.cfg.Vendors[pos[0]]; !ok {
		return cli.Usagef("vendor %q is not configured", pos[0])
	}
	if err := ratelimit.NewGate(e.rdb).Halt(ctx, pos[0], "operator", time.Now().Add(dur)); err != nil {
		return err
	}
	e.notifyHalted(ctx, pos[0]) // notify.go
	fmt.Fprintf(stdout, "halted %s for %s\n", pos[0], dur)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

const remaskUsage = "usage: producer remask s3://BUCKET/PREFIX/|file:///DIR/ [--dry-run]"

// runRemask rewrites the results and raw copies under a prefix with
// today's masking; it calls no vendor and needs no Redis.
func runRemask(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		g   cli.Globals
		dry bool
		fs  = flag.NewFlagSet("remask", flag.ContinueOnError)
	)
	fs.BoolVar(&dry, "dry-run", false, "count what would change; write nothing")
	pos, err := parse(fs, &g, args, stdout, remaskUsage, 1, 1)
	if err != nil {
		return err
	}
	prefix, err := storage.ParseURI(pos[0])
	if err != nil {
		return cli.Usagef("%v\n%s", err, remaskUsage)
	}
	if !prefix.IsPrefix() {
		return cli.Usagef("remask needs an output prefix s3://BUCKET/PREFIX/ or file:///DIR/ (ending in /)\n%s", remaskUsage)
	}
	if _, err := cli.Logger(stderr, g.LogFormat, g.LogLevel); err != nil {
		return err
	}
	cfg, err := config.Load(config.Path(g.Config))
	if err != nil {
		return err
	}
	store, err := setup.Store(ctx, cfg)
	if err != nil {
		return err
	}
	if prefix, err = cfg.ParseURI(pos[0]); err != nil { // file:// keys are cut at storage.fileRoot
		return cli.Usagef("%v", err)
	}
	r := &producer.Remasker{Store: store, MaskRaw: vendorset.MaskRaw, DryRun: dry}
	sum, err := r.Run(ctx, prefix)
	fmt.Fprintln(stdout, sum.String())
	return err
}
