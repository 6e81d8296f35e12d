package batch

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Books is what enqueue (internal/producer) and the worker (internal/tasks)
// need of the batch counts; *Tracker implements it, tests fake it.
type Books interface {
	// Register counts sources before their tasks are enqueued (and sources
	// skipped); Unregister takes back those asynq refused; Seal marks the
	// end of an enqueue (see Tracker).
	Register(ctx context.Context, id string, c Chunk) (fresh []bool, done bool, err error)
	Unregister(ctx context.Context, id string, sources []string) (done bool, err error)
	Seal(ctx context.Context, id string) (done bool, err error)
	// Finish records a source's final outcome once (re-runs do not count
	// twice) and reports whether that completed the batch.
	Finish(ctx context.Context, id, sourceURI, status, code string) (done bool, err error)
	// Spent adds the pages read and vendor calls made by one task run
	// (the calls also under the vendor's name); called before that
	// source's Finish (see Tracker.Spent).
	Spent(ctx context.Context, id, vendor string, pages, calls int64) error
	// WriteSummary writes the summary object of a batch that Seal or
	// Finish reported done into the output prefix outKey of out.
	WriteSummary(ctx context.Context, out storage.Bucket, outKey, id string) error
}

var _ Books = (*Tracker)(nil)

// Summary builds the summary object of batch id (Status.Summary) from Redis
// alone: failures spilled to storage are not in it (WriteSummary adds them).
func (t *Tracker) Summary(ctx context.Context, id string) ([]byte, error) {
	return t.summary(ctx, nil, id)
}

func (t *Tracker) summary(ctx context.Context, out storage.Bucket, id string) ([]byte, error) {
	st, err := t.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	f, err := t.Failures(ctx, id)
	if err != nil {
		return nil, err
	}
	if out != nil {
		spilled, err := t.spilledFailures(ctx, out, id)
		if err != nil {
			return nil, err
		}
		f = append(spilled, f...)
	}
	return st.Summary(f)
}

// summaryRetryWait bounds the backoff of the summary write (1+2+4+8 s).
const summaryRetryWait = 8 * time.Second

// WriteSummary builds the summary of batch id and writes it to
// layout.SummaryKey(outKey, id) in out. Only the one caller told "done"
// writes it, so a storage blip is retried with backoff rather than losing
// the summary; the error returned is the last one, its cause unredacted.
func (t *Tracker) WriteSummary(ctx context.Context, out storage.Bucket, outKey, id string) error {
	b, err := t.summary(ctx, out, id)
	if err != nil {
		return fmt.Errorf("batch %s: summary: %w", id, err)
	}
	key := layout.SummaryKey(outKey, id)
	for wait := time.Second; ; wait *= 2 {
		_, err = out.Put(ctx, key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{ContentType: "application/json"})
		if err == nil || wait > summaryRetryWait || t.sleep(ctx, wait) != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("batch %s: write summary: %w", id, err)
	}
	return nil
}
