package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/hibiken/asynq"
	"github.com/schollz/progressbar/v3"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/cli"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// enqueueFlags are the flags `enqueue` and `run` share.
type enqueueFlags struct {
	o   producer.Options
	pii string
}

func registerEnqueueFlags(fs *flag.FlagSet) *enqueueFlags {
	f := &enqueueFlags{}
	o := &f.o
	fs.StringVar(&o.Type, "type", "", "document type: receipt, credit-card, name-card, biz-license, id-card, medical-receipt, passport, face-compare")
	fs.StringVar(&o.Vendor, "vendor", "", "vendor name from the config (default: the route of the type)")
	fs.StringVar(&o.Out, "out", "", "output prefix s3://BUCKET/PREFIX/ or file:///DIR/")
	fs.StringVar(&o.Batch, "batch", "", "batch id (default: a new one)")
	fs.StringVar(&o.Queue, "queue", "default", "asynq queue")
	fs.BoolVar(&o.Force, "force", false, "enqueue even when a result exists for the same source ETag")
	fs.BoolVar(&o.DryRun, "dry-run", false, "count what would be enqueued; enqueue nothing")
	fs.BoolVar(&o.Verify, "verify", false, "id-card at NHN: also check authenticity")
	fs.StringVar(&f.pii, "pii", "masked", "full: ask for whole personal numbers (only where the vendor is configured pii: per-task)")
	fs.StringVar(&o.Face, "face", "", "face-compare: the face photo s3://B/FACE or file:///FACE (the SOURCE is the ID card)")
	return f
}

// options checks what needs no configuration, so bad usage is reported
// before anything is loaded or connected.
func (f *enqueueFlags) options(sources []string, usage string) (producer.Options, error) {
	o := f.o
	switch f.pii {
	case "full":
		o.PII = true
	case "masked":
	default:
		return o, cli.Usagef("--pii %q: want full or masked", f.pii)
	}
	hasManifest := false
	for _, s := range sources {
		hasManifest = hasManifest || (len(s) > 0 && s[0] == '@')
	}
	if o.Type == "" && !hasManifest {
		return o, cli.Usagef("--type is required\n%s", usage)
	}
	if o.Type != "" && !result.KnownType(o.Type) {
		return o, cli.Usagef("--type: %s", producer.UnknownType(o.Type))
	}
	if o.Out == "" && !hasManifest {
		return o, cli.Usagef("--out is required\n%s", usage)
	}
	if o.Batch == "" {
		o.Batch = batch.NewID(time.Now())
	} else if err := layout.CheckBatchID(o.Batch); err != nil {
		return o, cli.Usagef("--batch: %v", err)
	}
	return o, nil
}

// newEnqueuer builds the enqueuer on the loaded environment; on a
// terminal it shows how many sources are enqueued so far.
func newEnqueuer(e *env, store storage.Store, queue string, stderr io.Writer) (*producer.Enqueuer, func()) {
	client := asynq.NewClientFromRedisClient(e.rdb)
	enq := &producer.Enqueuer{Client: client, Store: store, Config: e.cfg, Batches: e.batches(client, queue), Log: e.log,
		Inspector: asynq.NewInspectorFromRedisClient(e.rdb)}
	if !isTerminal(stderr) {
		return enq, func() {}
	}
	bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("enqueueing"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	enq.Progress = func(done, _ int64) { _ = bar.Set64(done) }
	return enq, func() { _ = bar.Finish() }
}

// enqueueError turns what the producer refused before enqueueing anything
// into bad usage (exit 2), and storage errors into what they mean.
func enqueueError(err error) error {
	if errors.Is(err, producer.ErrInvalid) || errors.Is(err, producer.ErrForbidden) {
		return cli.Usagef("%v", err)
	}
	return userError(err)
}

// summaryLine is the contract's final line; a dry run says so on it.
func summaryLine(sum producer.Summary, o producer.Options) string {
	if o.DryRun {
		return sum.String() + " (dry run: nothing was enqueued)"
	}
	return sum.String()
}

// userError shortens errors whose chain says nothing more to a user: a
// missing bucket (the SDK adds request IDs and operation names) and a
// server that does not answer (Redis, or an S3 endpoint).
func userError(err error) error {
	var nb *storage.NoBucketError
	if errors.As(err, &nb) {
		return fmt.Errorf("bucket %q does not exist", nb.Bucket)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && op.Addr != nil {
		cause := op.Err
		var sc *os.SyscallError
		if errors.As(cause, &sc) {
			cause = sc.Err
		}
		return fmt.Errorf("cannot connect to %s: %v", op.Addr, cause)
	}
	return err
}
