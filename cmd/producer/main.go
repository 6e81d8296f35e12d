// Command producer enqueues OCR tasks and reports on batches.
//
//	producer enqueue --type TYPE [--vendor NAME] --out s3://BUCKET/PREFIX/ [--batch ID] [--queue Q]
//	                 [--force] [--dry-run] [--verify] [--pii full|masked] [--face s3://B/FACE] SOURCE...
//	producer enqueue --scan [enqueue flags] (s3://BUCKET/PREFIX/ | @s3://BUCKET/MANIFEST)
//	producer cancel BATCH
//	producer run [enqueue flags] SOURCE...
//	producer status BATCH [--follow]
//	producer batches [--limit N]
//	producer resume VENDOR
//	producer halt VENDOR [--for 1h]
//	producer remask s3://BUCKET/PREFIX/ [--dry-run]
//	producer export (BATCH | --prefix URI) [--format jsonl|csv] [--type T] [--items] [--excel] [--to URI]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ocrbatch/ocrworker/internal/cli"
)

const usage = `
producer enqueues OCR tasks (object references only) and reports on batches.

Usage:
  producer enqueue --type TYPE [--vendor NAME] --out s3://BUCKET/PREFIX/ [--batch ID] [--queue Q]
                   [--force] [--dry-run] [--verify] [--pii full|masked] [--face s3://B/FACE] SOURCE...
  producer enqueue --scan [flags] (s3://BUCKET/PREFIX/ | @s3://BUCKET/MANIFEST.jsonl)
                                       let the workers list the source, worker.scanWindow
                                       tasks queued at a time; returns once the scan is queued
  producer cancel BATCH                stop a batch's scan and drop its queued tasks
  producer run [enqueue flags] [--concurrency N] SOURCE...
                                       enqueue, process in this process, wait, print the
                                       summary; exit 0 if every document succeeded
  producer status BATCH [--follow]     counts, percent and rate of a batch
  producer batches [--limit N]         the most recent batches (default 20)
  producer resume VENDOR               resume calls to a halted vendor (quota, credentials); clears its Retry-After wait
  producer halt VENDOR [--for 1h]      stop calls to a vendor from every worker
  producer remask s3://OUT/PREFIX/ [--dry-run]
                                       rewrite results and raw copies under a prefix with
                                       today's masking (no vendor call)
  producer export (BATCH | --prefix s3://OUT/PREFIX/) [--format jsonl|csv] [--type T] [--items] [--excel] [--to URI]
                                       stream a batch's results as JSONL or CSV to stdout or
                                       to an object (see docs/export.md)

A SOURCE is s3://bucket/key (one object), s3://bucket/prefix/ (every object
under the prefix), file:///path/file or file:///dir/ (the same on a directory
tree below storage.fileRoot) or @FILE (a JSONL manifest: {"uri": "s3://b/k",
"type": "receipt"} with optional vendor, out, verify, faceImage, pii; @- reads
standard input).
--pii full asks for whole personal numbers, honoured only where the vendor is
configured pii: per-task.

Global flags (before or after the subcommand): --config FILE (or OCR_CONFIG),
--log-format json|console, --log-level LEVEL (or LOG_LEVEL).
Run 'producer COMMAND --help' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// commands maps subcommand names to their runners.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"enqueue": runEnqueue,
	"run":     runRun,
	"status":  runStatus,
	"batches": runBatches,
	"resume":  runResume,
	"halt":    runHalt,
	"remask":  runRemask,
	"export":  runExport, // export.go
	"cancel":  runCancel, // scan.go
}

func run(args []string, stdout, stderr io.Writer) int {
	// Global flags may come before the subcommand.
	var g cli.Globals
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	g.Register(fs)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintln(stdout, usage[1:])
			return cli.ExitOK
		}
		fmt.Fprintln(stderr, "error:", err)
		return cli.ExitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "error: no command given")
		fmt.Fprintln(stderr, usage[1:])
		return cli.ExitUsage
	}
	if rest[0] == "help" {
		fmt.Fprintln(stdout, usage[1:])
		return cli.ExitOK
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "error: unknown command %q\n", rest[0])
		fmt.Fprintln(stderr, "run 'producer --help' for usage")
		return cli.ExitUsage
	}
	// Re-pass the globals given before the subcommand; flags after it win.
	sub := globalsAsArgs(fs)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return cli.Exit(stderr, userError(cmd(ctx, append(sub, rest[1:]...), stdout, stderr)))
}

func globalsAsArgs(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) { out = append(out, "--"+f.Name+"="+f.Value.String()) })
	return out
}
