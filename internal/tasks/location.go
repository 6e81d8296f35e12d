package tasks

import (
	"context"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// checkLocations refuses, before any read, a task whose result cannot be
// written where it belongs: a result key over S3's limit, a source key in
// the reserved _ocr/ area of the output, or a bucket outside the
// allow-lists (storage.buckets).
func (h *Handler) checkLocations(j *job) *ocrerr.Error {
	if !h.Buckets.CanWrite(j.out.Bucket) {
		return ocrerr.Permanent(ocrerr.ForbiddenLocation, "output bucket is not in storage.buckets.write")
	}
	if !h.Buckets.CanRead(j.src.Bucket) {
		return ocrerr.Permanent(ocrerr.ForbiddenLocation, "source bucket is not in storage.buckets.read")
	}
	if j.p.Face != "" {
		if f, err := storage.ParseURI(j.p.Face); err == nil && !h.Buckets.CanRead(f.Bucket) {
			return ocrerr.Permanent(ocrerr.ForbiddenLocation, "face image bucket is not in storage.buckets.read")
		}
	}
	if n := len(j.resultKey); n > layout.MaxKeyBytes {
		return ocrerr.Permanent(ocrerr.KeyTooLong, "result key would be %d bytes, over S3's %d", n, layout.MaxKeyBytes)
	}
	if layout.ReservedSource(j.src.Key) {
		return ocrerr.Permanent(ocrerr.ResultConflict, "source key lies in the reserved %s area of the output", layout.Area)
	}
	return nil
}

// errNotOurs: the result key holds an object that is no result of this
// source (another bucket's source of the same key, or not a result at all).
func errNotOurs() *ocrerr.Error {
	return ocrerr.Permanent(ocrerr.ResultConflict, "the result key holds an object that is not a result of this source")
}

// unwritable ends a task whose outcome cannot be written as its result: it
// is logged (by the source's hash, never its key) and counted as failed in
// the batch, whose summary lists it.
func (h *Handler) unwritable(ctx context.Context, j *job, e *ocrerr.Error) error {
	code := string(e.Code)
	j.log.Warn().Str("code", code).Str("source", j.owner).Str("type", j.p.Type).Str("reason", e.Message).
		Msg("no result written: outcome recorded in the batch only")
	h.metrics().Result(j.p.Type, result.StatusFailed, code)
	return h.recordBatch(ctx, j, result.StatusFailed, code)
}
