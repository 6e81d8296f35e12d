// Command worker runs the OCR pipeline: it takes recognize tasks from
// Redis, reads each image from object storage, calls the routed vendor under
// the shared rate limit and writes one result per source.
//
//	worker [--config FILE] [--concurrency N] [--queues critical=6,default=3,backfill=1]
package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/ocrbatch/ocrworker/internal/cli"
)

const usage = `
worker runs OCR tasks until SIGINT or SIGTERM, then stops taking tasks and
finishes or hands back the in-flight ones within the shutdown timeout.

Usage:
  worker [--config FILE] [--concurrency N] [--queues critical=6,default=3,backfill=1]
         [--metrics-addr 127.0.0.1:9090] [--scheduler]

The configuration file is also taken from OCR_CONFIG.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type flags struct {
	cli.Globals
	concurrency int
	queues      string
	metricsAddr string
	scheduler   bool
}

func run(args []string, stdout, stderr io.Writer) int {
	var f flags
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	f.Register(fs)
	fs.IntVar(&f.concurrency, "concurrency", 0, "tasks in flight in this process (default: worker.concurrency, 16)")
	fs.StringVar(&f.queues, "queues", "", "queue priorities, e.g. critical=6,default=3,backfill=1 (default: worker.queues)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz here (default: worker.metricsAddr; empty: off)")
	fs.BoolVar(&f.scheduler, "scheduler", false, "also run the backfill scheduler (config schedules:)")
	help, err := cli.ParseFlagsOnly(fs, args, stdout, usage)
	if help {
		return cli.ExitOK
	}
	var queues map[string]int
	if err == nil && f.queues != "" {
		queues, err = parseQueues(f.queues)
	}
	if err == nil && f.concurrency < 0 {
		err = cli.Usagef("--concurrency must be > 0")
	}
	if err != nil {
		return cli.Fail(stderr, "worker", err)
	}
	log, err := cli.Logger(stderr, f.LogFormat, f.LogLevel)
	if err != nil {
		return cli.Exit(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	w, err := newWorker(ctx, f, queues, log)
	if err != nil {
		log.Error().Err(err).Msg("worker not started")
		return cli.ExitFailure
	}
	if err := w.run(ctx); err != nil {
		log.Error().Err(err).Msg("worker stopped with an error")
		return cli.ExitFailure
	}
	return cli.ExitOK
}

// parseQueues reads "critical=6,default=3,backfill=1".
func parseQueues(s string) (map[string]int, error) {
	q := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		name, prio, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(prio)
		if !ok || name == "" || err != nil || n < 1 {
			return nil, cli.Usagef("--queues: %q is not NAME=PRIORITY with PRIORITY > 0", part)
		}
		q[name] = n
	}
	return q, nil
}
