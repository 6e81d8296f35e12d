package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// writeResult writes the result so that it cannot clobber a newer one:
// create-only when there was none, replace-only-what-we-saw otherwise.
func (h *Handler) writeResult(ctx context.Context, j *job) error {
	b, err := json.Marshal(&j.res)
	if err != nil {
		return ocrerr.Permanent(ocrerr.Internal, "marshal result: %v", err)
	}
	bucket := h.Store.Bucket(j.out.Bucket)
	opts := storage.PutOptions{ContentType: "application/json", Metadata: map[string]string{
		MetaSourceETag: j.res.Source.ETag, MetaStatus: j.res.Status}}
	if j.res.Error != nil {
		opts.Metadata[MetaCode] = j.res.Error.Code
	}
	if j.faceRef != "" {
		opts.Metadata[MetaFaceRef] = j.faceRef
	}
	// The first try trusts the HEAD the run began with (one S3 round trip
	// less per document); if the result changed since, the precondition
	// fails and the second try decides on a fresh HEAD.
	for try := 0; ; try++ {
		cached := try == 0 && j.resultSeen
		var prev storage.ObjectInfo
		if cached {
			if j.seenResult == nil {
				err = storage.ErrNotFound
			} else {
				prev, err = *j.seenResult, nil
			}
		} else {
			prev, err = bucket.Head(ctx, j.resultKey)
		}
		switch {
		case errors.Is(err, storage.ErrNotFound):
			opts.IfNoneMatch, opts.IfMatch = true, ""
		case err != nil:
			return storageErr(err, "result")
		case ResultCurrent(prev.Metadata, j.res.Source.ETag, j.faceRef) && !j.p.Force:
			return nil // another run already wrote this source version's result
		default:
			// The result is of another source version. Replace it only if
			// ours is the current version: a run that read an older version
			// must not clobber the result of a newer one.
			cur, err := h.Store.Bucket(j.src.Bucket).Head(ctx, j.src.Key)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return storageErr(err, "source image")
			}
			if err == nil && cur.ETag != j.res.Source.ETag {
				j.log.Info().Msg("source changed while it was read: the newer version's result stands")
				return nil
			}
			opts.IfNoneMatch, opts.IfMatch = false, prev.ETag
		}
		_, err = bucket.Put(ctx, j.resultKey, bytes.NewReader(b), int64(len(b)), opts)
		switch {
		case errors.Is(err, storage.ErrPreconditionFailed) && cached:
			continue // changed since the run began: decide again
		case errors.Is(err, storage.ErrPreconditionFailed):
			return nil // a concurrent run wrote first; its result stands
		case err != nil:
			return storageErr(err, "result")
		}
		return nil
	}
}

// recordBatch counts the source's final outcome in its batch. If Redis
// cannot take the count, the task is requeued (not a failure): its result is
// written, so the next run costs no vendor call and only counts it, once.
// Without this a Redis outage left batches "running" forever.
func (h *Handler) recordBatch(ctx context.Context, j *job, status, code string) error {
	if h.Batches == nil || j.p.Batch == "" || batch.CheckID(j.p.Batch) != nil {
		return nil // no batch, or one that cannot exist (the result says invalid_task)
	}
	done, err := h.Batches.Finish(ctx, j.p.Batch, j.p.Source, status, code)
	if err != nil {
		j.log.Warn().Err(err).Msg("batch count not updated: will count it on the next run")
		return &requeue{after: time.Second, reason: "batch count not updated"}
	}
	if !done {
		return nil
	}
	sum, err := h.Batches.Summary(ctx, j.p.Batch)
	if err != nil {
		j.log.Warn().Err(err).Msg("batch summary not built")
		return nil
	}
	// Only this run learns that the batch is done, so it tries harder than
	// once: a storage blip at that moment would otherwise lose the summary.
	key := j.out.Key + "_batches/" + j.p.Batch + ".json"
	for wait := time.Second; ; wait *= 2 {
		_, err = h.Store.Bucket(j.out.Bucket).Put(ctx, key, bytes.NewReader(sum), int64(len(sum)),
			storage.PutOptions{ContentType: "application/json"})
		if err == nil || wait > summaryRetryWait || sleepCtx(ctx, wait) != nil {
			break
		}
	}
	if err != nil {
		j.log.Error().Err(ocrerr.Redact(err)).Str("batch", j.p.Batch).Msg("batch summary not written")
	}
	return nil
}

// summaryRetryWait bounds the backoff of the batch summary write (1+2+4+8 s).
const summaryRetryWait = 8 * time.Second

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// storageErr classifies a storage error: missing objects are the
// document's final outcome, anything else is transient. The cause is
// redacted: it reaches logs and asynq's last-error field, and object keys
// may hold personal data.
func storageErr(err error, what string) *ocrerr.Error {
	if errors.Is(err, storage.ErrNotFound) {
		return ocrerr.Permanent(ocrerr.SourceNotFound, "%s not found", what)
	}
	return ocrerr.Transient(ocrerr.StorageUnavailable, "%s: storage unavailable", what).Wrap(ocrerr.Redact(err))
}
