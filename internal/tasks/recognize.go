// Recognize: fetch and check the image (image.go), call the vendor under
// its gate (call.go), write the one result per source (write.go).

package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Vendor is one configured vendor account as the handler sees it.
type Vendor struct {
	Name          string
	Client        vendors.Client
	Gate          Gate
	PII           bool // keep personal numbers whole in every result
	TaskPII       bool // keep them whole when the task asks (pii: per-task)
	KeepRaw       bool
	Verify        bool
	MaxImageBytes int64
	HaltFor       time.Duration
}

// Handler runs TypeRecognize tasks: fetch, check, call the vendor, write
// the one result per source.
type Handler struct {
	Store    storage.Store
	Vendors  map[string]*Vendor
	Routes   map[string]string // document type -> vendor name
	Log      zerolog.Logger
	Metrics  Metrics           // optional
	Batches  Batches           // optional
	Buckets  storage.AllowList // optional: the buckets tasks may read and write (storage.buckets)
	RateWait time.Duration
	Now      func() time.Time
	// MaxRetryAfter caps a vendor's Retry-After (worker.maxRetryAfter;
	// default 5m).
	MaxRetryAfter time.Duration
	// UnknownGrace: how long a task naming an unknown vendor, document type
	// or payload version is handed back before it fails (grace.go); 0 or no
	// Sightings: it fails at once.
	UnknownGrace time.Duration
	Sightings    Sightings
	// MaxRetry is the retry budget (worker.maxRetry): failed tries after
	// which a transient failure is final. 0: the task's asynq MaxRetry.
	MaxRetry int
	// Requeuer hands back a task on asynq's last try (budget.go); nil: not
	// done. TaskTimeout is the asynq timeout of a handed-back task.
	Requeuer    Enqueuer
	TaskTimeout time.Duration
}

func (h *Handler) metrics() Metrics {
	if h.Metrics == nil {
		return noMetrics{}
	}
	return h.Metrics
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// job is one run of one task.
type job struct {
	p         Recognize
	log       zerolog.Logger
	attempt   int
	lastTry   bool
	started   time.Time
	out       storage.URI
	src       storage.URI
	resultKey string
	owner     string // layout.Owner of the source: written into the result, never the key itself
	res       result.Result
	vendor    *Vendor
	faceRef   string // face-compare: FaceRef of the face photo
	// The result object as the run found it at the start (nil: none), so
	// the write needs no second HEAD. resultSeen: that HEAD succeeded.
	seenResult *storage.ObjectInfo
	resultSeen bool
}

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id, _ := asynq.GetTaskID(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	asynqMax, _ := asynq.GetMaxRetry(ctx)
	failures := retried + carriedFailures(t)
	log := h.Log.With().Str("task", id).Logger()

	p, err := decodeRecognize(t.Payload())
	if err != nil {
		// Without a readable source and output there is nowhere to write a
		// result: archive the task (visible in the dashboard) instead.
		if p.Source == "" || p.Out == "" || !canWrite(p) {
			log.Error().Err(err).Msg("unreadable task payload: archived")
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		j := h.newJob(p, log, failures, h.budget(asynqMax))
		invalid := ocrerr.Permanent(ocrerr.InvalidTask, "%v", err)
		if p.V > PayloadVersion {
			err = h.unknownOrFail(ctx, j, invalid, fmt.Sprintf("payload version %d", p.V))
		} else {
			err = h.finish(ctx, j, invalid)
		}
		return h.keepAlive(ctx, t, retried, asynqMax, failures, err)
	}
	j := h.newJob(p, log, failures, h.budget(asynqMax))
	return h.keepAlive(ctx, t, retried, asynqMax, failures, h.run(ctx, j))
}

func canWrite(p Recognize) bool {
	src, err := storage.ParseURI(p.Source)
	if err != nil || src.IsPrefix() {
		return false
	}
	_, err = OutPrefix(p.Out)
	return err == nil
}

// newJob starts a run after `failures` failed tries, of a budget of maxRetry.
func (h *Handler) newJob(p Recognize, log zerolog.Logger, failures, maxRetry int) *job {
	j := &job{p: p, log: log, attempt: failures + 1, lastTry: failures >= maxRetry, started: h.now()}
	j.src, _ = storage.ParseURI(p.Source)
	j.out, _ = OutPrefix(p.Out)
	j.resultKey = layout.ResultKey(j.out.Key, j.src.Key)
	j.owner = layout.Owner(p.Source)
	j.res = result.Result{
		Schema: result.Schema, DocumentType: p.Type, Batch: p.Batch, Attempts: j.attempt,
		Source: result.Source{URI: p.Source},
	}
	return j
}

func (h *Handler) run(ctx context.Context, j *job) error {
	// Where the result would go is checked before anything is read: these
	// outcomes cannot be written as a result, so they go to the batch.
	if e := h.checkLocations(j); e != nil {
		if e.Code == ocrerr.ForbiddenLocation && h.Buckets.CanWrite(j.out.Bucket) {
			return h.finish(ctx, j, e) // only the source is forbidden: its result says so
		}
		return h.unwritable(ctx, j, e)
	}
	// Error messages name the image at fault; a pair has two.
	srcWhat := "source image"
	if j.p.Type == result.TypeFaceCompare {
		srcWhat = "card image"
	}
	srcBucket := h.Store.Bucket(j.src.Bucket)
	info, err := srcBucket.Head(ctx, j.src.Key)
	if err != nil {
		return h.finish(ctx, j, storageErr(err, srcWhat))
	}
	j.res.Source.ETag, j.res.Source.Size = info.ETag, info.Size
	var (
		faceURI  storage.URI
		faceInfo storage.ObjectInfo
	)
	if j.p.Type == result.TypeFaceCompare {
		// The face photo's version is part of what makes a result current.
		faceURI, _ = storage.ParseURI(j.p.Face)
		faceInfo, err = h.Store.Bucket(faceURI.Bucket).Head(ctx, faceURI.Key)
		if err != nil {
			return h.finish(ctx, j, storageErr(err, "face image"))
		}
		j.faceRef = layout.FaceRef(j.p.Face, faceInfo.ETag)
		j.res.FaceSource = &result.Source{URI: j.p.Face, ETag: faceInfo.ETag, Size: faceInfo.Size}
	}

	// A result for this very version of the source means the work is done:
	// a re-run after a crash or a duplicate costs no vendor call.
	existing, err := h.Store.Bucket(j.out.Bucket).Head(ctx, j.resultKey)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		j.resultSeen = true
		if err == nil {
			j.seenResult = &existing
		}
	}
	switch {
	case err == nil && !layout.OwnedBy(existing.Metadata, j.owner):
		return h.unwritable(ctx, j, errNotOurs())
	case err == nil && !j.p.Force && layout.ResultCurrent(existing.Metadata, j.owner, info.ETag, j.faceRef):
		j.log.Debug().Msg("result already exists for this source version")
		return h.recordBatch(ctx, j, existing.Metadata[layout.MetaStatus], existing.Metadata[layout.MetaCode])
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return h.finish(ctx, j, storageErr(err, "result"))
	}

	if !result.KnownType(j.p.Type) {
		return h.unknownOrFail(ctx, j, ocrerr.Permanent(ocrerr.UnknownDocumentType, "unknown document type %q", j.p.Type),
			"document type "+j.p.Type)
	}
	v, oerr := h.vendorFor(j.p)
	if oerr != nil {
		if oerr.Code == ocrerr.UnknownVendor {
			return h.unknownOrFail(ctx, j, oerr, "vendor or route")
		}
		return h.finish(ctx, j, oerr)
	}
	j.vendor = v
	j.res.Vendor = result.VendorInfo{Name: v.Name, Kind: v.Client.Kind()}
	if n := len(layout.RawKey(j.out.Key, j.src.Key)); v.KeepRaw && n > layout.MaxKeyBytes {
		return h.finish(ctx, j, ocrerr.Permanent(ocrerr.KeyTooLong, "raw copy key would be %d bytes, over S3's %d", n, layout.MaxKeyBytes))
	}
	if rq := h.haltedRequeue(ctx, v); rq != nil {
		return rq
	}

	img, oerr := h.prepare(ctx, j, srcBucket, info, srcWhat)
	if oerr != nil {
		return h.finish(ctx, j, oerr)
	}
	defer img.close()
	req := &vendors.Request{DocumentType: j.p.Type, Image: img.image, PII: v.PII || (v.TaskPII && j.p.PII), KeepRaw: v.KeepRaw, Verify: v.Verify || j.p.Verify}
	j.res.Source.Format = img.image.Format
	var face *prepared
	if j.p.Type == result.TypeFaceCompare {
		face, oerr = h.prepare(ctx, j, h.Store.Bucket(faceURI.Bucket), faceInfo, "face image")
		if oerr != nil {
			return h.finish(ctx, j, oerr)
		}
		defer face.close()
		j.res.FaceSource.Format = face.image.Format
		req.Face = &face.image
	}

	resp, err := h.call(ctx, j, req)
	if err != nil {
		return h.finish(ctx, j, err)
	}
	if !req.PII {
		if err := vendors.Scrub(j.p.Type, resp); err != nil {
			return h.finish(ctx, j, ocrerr.Permanent(ocrerr.Internal, "%v", err))
		}
	}
	j.res.Source.SHA256 = img.sum()
	if face != nil {
		j.res.FaceSource.SHA256 = face.sum()
	}
	j.res.Vendor.Endpoint, j.res.Vendor.RequestID, j.res.Vendor.UID = resp.Endpoint, resp.RequestID, resp.UID
	j.res.Vendor.Details = resp.Details
	j.res.Fields = resp.Fields
	if v.KeepRaw && len(resp.Raw) > 0 {
		rawKey := layout.RawKey(j.out.Key, j.src.Key)
		if _, err := h.Store.Bucket(j.out.Bucket).Put(ctx, rawKey, bytes.NewReader(resp.Raw), int64(len(resp.Raw)),
			storage.PutOptions{ContentType: "application/json"}); err != nil {
			return h.finish(ctx, j, storageErr(err, "raw result"))
		}
	}
	return h.finish(ctx, j, nil)
}

func (h *Handler) vendorFor(p Recognize) (*Vendor, *ocrerr.Error) {
	name := p.Vendor
	if name == "" {
		name = h.Routes[p.Type]
		if name == "" {
			return nil, ocrerr.Permanent(ocrerr.UnknownVendor, "no vendor is routed for document type %q", p.Type)
		}
	}
	v, ok := h.Vendors[name]
	if !ok {
		return nil, ocrerr.Permanent(ocrerr.UnknownVendor, "vendor %q is not configured", name)
	}
	if !v.Client.Supports(p.Type) {
		return nil, ocrerr.Permanent(ocrerr.UnknownDocumentType, "vendor %q (%s) does not read %s", name, v.Client.Kind(), p.Type)
	}
	return v, nil
}

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
		if e.Retryable {
			final := *e
			final.Code, final.Message = ocrerr.RetriesExhausted, fmt.Sprintf("gave up after %d attempts; last error %s: %s", j.attempt, e.Code, e.Message)
			e = &final
		}
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
	if standing != nil {
		j.log.Info().Msg("another run's result stands: counted as written")
		return h.recordBatch(ctx, j, standing[layout.MetaStatus], standing[layout.MetaCode])
	}
	code := ""
	if j.res.Error != nil {
		code = j.res.Error.Code
	}
	h.metrics().Result(j.p.Type, j.res.Status, code)
	ev := j.log.Info()
	if j.res.Status == result.StatusFailed {
		ev = j.log.Warn().Str("code", code)
	}
	ev.Str("type", j.p.Type).Str("status", j.res.Status).Int64("ms", j.res.DurationMs).Msg("result written")
	return h.recordBatch(ctx, j, j.res.Status, code)
}
