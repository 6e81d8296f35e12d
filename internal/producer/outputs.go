package producer

import (
	"context"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// outputRecorder is what a batch tracker offers so that `producer export
// BATCH` finds the batch's results (internal/batch outputs.go). Optional:
// Batches without it (tests) record nothing.
type outputRecorder interface {
	AddOutput(ctx context.Context, batch, sourceRoot, out string) error
	AddSkippedSources(ctx context.Context, batch string, sources []string) error
}

// SourceRoot is a source URI up to its key ("s3://in/" for s3://in/a/b.jpg):
// the result of the source with key K under the output prefix OP is OP K.json,
// so an export turns a result key back into its source URI as root + K. It
// parses the URI as the worker does when it names the result (layout.Parse).
func SourceRoot(sourceURI string) string {
	u, err := storage.ParseURI(sourceURI)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(sourceURI, u.Key)
}

// output records, once per run, the (source root, output prefix) pair of a
// task before it is enqueued or skipped.
func (t *run) output(ctx context.Context, task layout.Recognize) error {
	rec, ok := t.e.Batches.(outputRecorder)
	if !ok || t.o.DryRun || t.o.Batch == "" {
		return nil
	}
	out, err := layout.OutPrefix(task.Out) // one spelling: s3://b/r and s3://b/r/ are one place
	if err != nil {
		return nil // Check refuses it
	}
	pair := SourceRoot(task.Source) + "\x00" + out.String()
	if _, seen := t.outputs.LoadOrStore(pair, true); seen {
		return nil
	}
	if err := rec.AddOutput(ctx, t.o.Batch, SourceRoot(task.Source), out.String()); err != nil {
		t.outputs.Delete(pair) // the next task tries again
		return err
	}
	return nil
}

// recordSkipped records a chunk's skipped sources.
func (t *run) recordSkipped(ctx context.Context, sources []string) error {
	rec, ok := t.e.Batches.(outputRecorder)
	if !ok || t.o.DryRun || t.o.Batch == "" || len(sources) == 0 {
		return nil
	}
	return rec.AddSkippedSources(ctx, t.o.Batch, sources)
}
