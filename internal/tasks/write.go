package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// finish decides what an outcome means: success and permanent failures
// write the result; transient failures retry until the last attempt, which
// writes retries_exhausted; requeues go back to the queue untouched.
func (h *Handler) finish(ctx context.Context, j *job, err error) error {
	if err != nil {
		var rq *requeue
		if errors.As(err, &rq) || ctx.Err() != nil {
			return err
		}
		e := ocrerr.Classify(err)
		if e.Code == ocrerr.StorageUnavailable {
			// Storage trouble is never the document's fault: keep retrying,
			// then archive (nothing is lost).
			j.log.Warn().Err(e).Int("attempt", j.attempt).Msg("storage unavailable")
			return lastTryErr(j, e)
		}
		if e.Retryable && !j.lastTry {
			j.log.Warn().Str("code", string(e.Code)).Str("vendorCode", e.VendorCode).Int("attempt", j.attempt).Msg("transient failure: will retry")
			return e
		}
		e = finalError(j, e)
		j.res.Status, j.res.Fields, j.res.Error = result.StatusFailed, nil, result.ErrorInfoFrom(e)
	} else {
		j.res.Status = result.StatusSucceeded
	}
	done := h.now()
	j.res.StartedAt, j.res.CompletedAt = result.Time{Time: j.started}, result.Time{Time: done}
	j.res.DurationMs = done.Sub(j.started).Milliseconds()
	standing, werr := h.writeResult(ctx, j)
	if werr != nil {
		if e, ok := ocrerr.As(werr); ok && !e.Retryable {
			return h.unwritable(ctx, j, e)
		}
		j.log.Warn().Err(werr).Msg("result write failed: will retry")
		return lastTryErr(j, werr)
	}
	h.dropProgress(ctx, j) // the result is written: saved page answers are done with
	if standing != nil {
		j.log.Info().Msg("another run's result stands: counted as written")
		return h.recordBatch(ctx, j, standing[layout.MetaStatus], standing[layout.MetaCode])
	}
	code := ""
	if j.res.Error != nil {
		code = j.res.Error.Code
	}
	h.metrics().Result(j.Type, j.res.Status, code)
	ev := j.log.Info()
	if j.res.Status == result.StatusFailed {
		ev = j.log.Warn().Str("code", code)
	}
	ev.Str("type", j.Type).Str("status", j.res.Status).Int64("ms", j.res.DurationMs).Msg("result written")
	return h.recordBatch(ctx, j, j.res.Status, code)
}

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
	bucket := h.Store.Bucket(j.Dest.Bucket)
	code := ""
	if j.res.Error != nil {
		code = j.res.Error.Code
	}
	opts := storage.PutOptions{ContentType: "application/json",
		Metadata: layout.ResultMeta(j.owner, j.res.Source.ETag, j.res.Status, code, j.faceRef)}
	if j.Batch != "" {
		opts.Metadata[layout.MetaBatch] = j.Batch
	}
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
		case layout.ResultCurrent(prev.Metadata, j.owner, j.res.Source.ETag, j.faceRef) && (!j.Force || try > 0):
			return prev.Metadata, nil // another run already wrote this source version's result
		default:
			// The result is of another source version. Replace it only if
			// ours is the current version: a run that read an older version
			// must not clobber the result of a newer one.
			cur, err := h.Store.Bucket(j.Src.Bucket).Head(ctx, j.Src.Key)
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
		if opts.IfMatch != "" && j.Batch != "" && prev.Metadata[layout.MetaBatch] == j.Batch {
			// Ours replaced a result this same batch wrote, and counted.
			j.replaced = prev.Metadata[layout.MetaStatus]
		}
		return nil, nil
	}
	return nil, nil // concurrent runs kept writing first; the last of theirs stands
}

// writeTries bounds how often a write re-decides after a lost race.
const writeTries = 3

// unwritable ends a task whose outcome cannot be written as its result: it
// is logged (by the source's hash, never its key) and counted as failed in
// the batch, whose summary lists it.
func (h *Handler) unwritable(ctx context.Context, j *job, e *ocrerr.Error) error {
	code := string(e.Code)
	j.log.Warn().Str("code", code).Str("source", j.owner).Str("type", j.Type).Str("reason", e.Message).
		Msg("no result written: outcome recorded in the batch only")
	h.metrics().Result(j.Type, result.StatusFailed, code)
	return h.recordBatch(ctx, j, result.StatusFailed, code)
}

// recordBatch counts the source's final outcome in its batch. If Redis
// cannot take the count, the task is requeued (not a failure): its result is
// written, so the next run costs no vendor call and only counts it, once.
// Without this a Redis outage left batches "running" forever.
func (h *Handler) recordBatch(ctx context.Context, j *job, status, code string) error {
	h.spend(ctx, j)
	if h.Batches == nil || j.Batch == "" || layout.CheckBatchID(j.Batch) != nil {
		return nil // no batch, or one that cannot exist (the result says invalid_task)
	}
	var done bool
	var err error
	if r, ok := h.Batches.(replacingBooks); ok && j.replaced != "" {
		done, err = r.FinishReplacing(ctx, j.Batch, j.Source, status, code, j.replaced)
	} else {
		done, err = h.Batches.Finish(ctx, j.Batch, j.Source, status, code)
	}
	if err != nil {
		j.log.Warn().Err(err).Msg("batch count not updated: will count it on the next run")
		return &requeue{after: time.Second, reason: "batch count not updated"}
	}
	if s, ok := h.Batches.(spillingBooks); ok && status == result.StatusFailed && h.Buckets.CanWrite(j.Dest.Bucket) {
		// Redis keeps a bounded number of a batch's failures; past it they
		// move to storage. A spill that fails leaves them in Redis: the
		// next failure tries again.
		if err := s.SpillFailures(ctx, h.Store.Bucket(j.Dest.Bucket), j.Dest.Key, j.Batch); err != nil {
			j.log.Warn().Err(ocrerr.Redact(err)).Str("batch", j.Batch).Msg("batch failures not spilled to storage")
		}
	}
	// Only this run learns that the batch is done: it writes the summary.
	if !done || !h.Buckets.CanWrite(j.Dest.Bucket) {
		return nil // forbidden_location: nothing is written there, not even the summary
	}
	if err := h.Batches.WriteSummary(ctx, h.Store.Bucket(j.Dest.Bucket), j.Dest.Key, j.Batch); err != nil {
		j.log.Error().Err(ocrerr.Redact(err)).Str("batch", j.Batch).Msg("batch summary not written")
	}
	return nil
}

// replacingBooks and spillingBooks are what *batch.Tracker offers beyond
// batch.Books: counting a re-enqueued source's new outcome in place of its
// old one, and moving failures to storage.
type replacingBooks interface {
	FinishReplacing(ctx context.Context, id, source, status, code, replaced string) (bool, error)
}

type spillingBooks interface {
	SpillFailures(ctx context.Context, out storage.Bucket, outKey, id string) error
}

// errNotOurs: the result key holds an object that is no result of this
// source (another bucket's source of the same key, or not a result at all).
func errNotOurs() *ocrerr.Error {
	return ocrerr.Permanent(ocrerr.ResultConflict, "the result key holds an object that is not a result of this source")
}
