package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// writeResult writes the result so that it cannot clobber a newer one
// (create-only when there was none, replace-only-what-we-saw otherwise) nor
// an object that is not a result of this source (result_conflict). When
// another run's result stands instead of ours, standing is its metadata:
// the batch must count that outcome, which is what storage holds.
func (h *Handler) writeResult(ctx context.Context, j *job) (standing map[string]string, err error) {
	b, err := json.Marshal(&j.res)
	if err != nil {
		return nil, ocrerr.Permanent(ocrerr.Internal, "marshal result: %v", err)
	}
	bucket := h.Store.Bucket(j.out.Bucket)
	code := ""
	if j.res.Error != nil {
		code = j.res.Error.Code
	}
	opts := storage.PutOptions{ContentType: "application/json",
		Metadata: layout.ResultMeta(j.owner, j.res.Source.ETag, j.res.Status, code, j.faceRef)}
	// The first try trusts the HEAD the run began with (one S3 round trip
	// less per document); when a precondition fails, the object changed
	// since: decide again on a fresh HEAD.
	for try := 0; try < writeTries; try++ {
		var prev storage.ObjectInfo
		if try == 0 && j.resultSeen {
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
			return nil, storageErr(err, "result")
		case !layout.OwnedBy(prev.Metadata, j.owner):
			return nil, errNotOurs()
		case layout.ResultCurrent(prev.Metadata, j.owner, j.res.Source.ETag, j.faceRef) && (!j.p.Force || try > 0):
			return prev.Metadata, nil // another run already wrote this source version's result
		default:
			// The result is of another source version. Replace it only if
			// ours is the current version: a run that read an older version
			// must not clobber the result of a newer one.
			cur, err := h.Store.Bucket(j.src.Bucket).Head(ctx, j.src.Key)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, storageErr(err, "source image")
			}
			if err == nil && cur.ETag != j.res.Source.ETag {
				j.log.Info().Msg("source changed while it was read: the newer version's result stands")
				return prev.Metadata, nil
			}
			opts.IfNoneMatch, opts.IfMatch = false, prev.ETag
		}
		_, err = bucket.Put(ctx, j.resultKey, bytes.NewReader(b), int64(len(b)), opts)
		switch {
		case errors.Is(err, storage.ErrPreconditionFailed):
			continue // changed since we looked: decide again
		case err != nil:
			return nil, storageErr(err, "result")
		}
		return nil, nil
	}
	return nil, nil // concurrent runs kept writing first; the last of theirs stands
}

// writeTries bounds how often a write re-decides after a lost race.
const writeTries = 3

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
	if !h.Buckets.CanWrite(j.out.Bucket) {
		return nil // forbidden_location: nothing is written there, not even the summary
	}
	key := layout.SummaryKey(j.out.Key, j.p.Batch)
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

// storageErr classifies a storage error: a missing object is the
// document's final outcome; a key over S3's limit is key_too_long; any
// other refusal (4xx that is not throttling or a precondition: access
// denied, bad bucket name) is permanent storage_rejected; the rest is
// transient. The cause is redacted: it reaches logs and asynq's last-error
// field, and object keys may hold personal data.
func storageErr(err error, what string) *ocrerr.Error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return ocrerr.Permanent(ocrerr.SourceNotFound, "%s not found", what)
	case storage.IsKeyTooLong(err):
		return ocrerr.Permanent(ocrerr.KeyTooLong, "%s: object key over S3's %d bytes", what, layout.MaxKeyBytes)
	case storage.IsRejected(err):
		return ocrerr.Permanent(ocrerr.StorageRejected, "%s: storage refused the request", what).Wrap(ocrerr.Redact(err))
	}
	return ocrerr.Transient(ocrerr.StorageUnavailable, "%s: storage unavailable", what).Wrap(ocrerr.Redact(err))
}
