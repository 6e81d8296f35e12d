// Package tasks runs recognize tasks: the handler a worker serves
// layout.TypeRecognize with. One task flows one way through its files:
//
//	recognize.go  decode the payload, check where the result goes, look for
//	              a current result, pick the vendor (this file)
//	image.go      fetch and check the source(s), split into pages
//	read.go       read each page: convert it for the vendor, call, keep
//	              per-page progress
//	call.go       call the vendor under its gate
//	write.go      write the result, record the batch count
//
// errors.go, budget.go and grace.go say what an outcome means to asynq
// (retry, requeue, hand back); deps.go lists what the handler is given.
package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/pages"
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
	Store   storage.Store
	Vendors map[string]*Vendor // by name, as in Config.Vendors
	// Config routes a task to its vendor (config.VendorFor).
	Config   *config.Config
	Log      zerolog.Logger
	Metrics  Metrics           // optional
	Batches  batch.Books       // optional
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
	// Converter prepares pages for the vendors (internal/pages); nil: one
	// is built from Config's worker limits on first use.
	Converter *pages.Converter
	convOnce  sync.Once
	// TempDir holds spooled sources, pages and converted images ("":
	// os.TempDir()).
	TempDir string
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

// job is one run of one task: the decoded payload, then what each stage
// learns, in order.
type job struct {
	layout.Doc
	log       zerolog.Logger
	attempt   int
	lastTry   bool
	started   time.Time
	resultKey string
	owner     string // layout.Owner of the source: written into the result, never the key itself
	res       result.Result

	// Found by lookup.
	src, face  storage.ObjectInfo // face: face-compare only
	faceRef    string             // face-compare: FaceRef of the face photo
	seenResult *storage.ObjectInfo
	resultSeen bool   // the result's HEAD succeeded; seenResult nil: there was none
	replaced   string // status of this batch's own result that the write replaced ("" if none)

	vendor *Vendor // picked by pickVendor

	// Learnt while reading (read.go).
	progress bool // pages of a multi-page source were read: saved answers to drop
	calls    int  // vendor calls made by this run (the batch counts them, under j.vendor)
	pages    int  // pages whose answer became final in this run
}

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id, _ := asynq.GetTaskID(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	asynqMax, _ := asynq.GetMaxRetry(ctx)
	failures := retried + layout.CarriedFailures(t)
	log := h.Log.With().Str("task", id).Logger()

	d, err := layout.DecodeRecognize(t.Payload())
	if err != nil {
		// Without a readable source and output there is nowhere to write a
		// result: archive the task (visible in the dashboard) instead.
		if !d.Writable() {
			log.Error().Err(err).Msg("unreadable task payload: archived")
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		j := h.newJob(d, log, failures, h.budget(asynqMax))
		invalid := ocrerr.Permanent(ocrerr.InvalidTask, "%v", err)
		if d.V > layout.PayloadVersion {
			err = h.unknownOrFail(ctx, j, invalid, fmt.Sprintf("payload version %d", d.V))
		} else {
			err = h.finish(ctx, j, invalid)
		}
		return h.keepAlive(ctx, t, retried, asynqMax, failures, err)
	}
	j := h.newJob(d, log, failures, h.budget(asynqMax))
	return h.keepAlive(ctx, t, retried, asynqMax, failures, h.run(ctx, j))
}

// newJob starts a run after `failures` failed tries, of a budget of maxRetry.
func (h *Handler) newJob(d layout.Doc, log zerolog.Logger, failures, maxRetry int) *job {
	j := &job{Doc: d, log: log, attempt: failures + 1, lastTry: failures >= maxRetry, started: h.now(),
		resultKey: d.ResultKey(), owner: d.Owner()}
	j.res = result.Result{
		Schema: result.Schema, DocumentType: d.Type, Batch: d.Batch, Attempts: j.attempt,
		Source: result.Source{URI: d.Source},
	}
	return j
}

// run takes a decoded task through its stages, in order. Every outcome
// ends in finish (write.go), which writes the result and records the batch.
func (h *Handler) run(ctx context.Context, j *job) error {
	defer h.spend(ctx, j) // a run that ends in a retry or requeue (recordBatch spends first)
	// 1. Where the result would go is checked before anything is read:
	// these outcomes cannot be written as a result, so they go to the batch.
	if e := h.checkLocations(j); e != nil {
		if e.Code == ocrerr.ForbiddenLocation && h.Buckets.CanWrite(j.Dest.Bucket) {
			return h.finish(ctx, j, e) // only the source is forbidden: its result says so
		}
		return h.unwritable(ctx, j, e)
	}
	// 2. A result for this very version of the source means the work is
	// done: a re-run after a crash or a duplicate costs no vendor call.
	if stop, err := h.lookup(ctx, j); stop {
		return err
	}
	// 3. The vendor, and whether it takes calls now.
	if stop, err := h.pickVendor(ctx, j); stop {
		return err
	}
	// 4. Fetch and check the source (and face photo), split into pages
	// (image.go).
	pol := h.Config.TypeFor(j.Type)
	opt := fetchOptions{maxPages: pol.MaxPages, firstOnly: pol.Pages == config.PagesFirst, single: j.Type == result.TypeFaceCompare}
	src, err := h.fetch(ctx, j, h.Store.Bucket(j.Src.Bucket), j.src, j.imageWhat(), opt)
	defer src.close()
	j.res.Source.Format = src.format
	if err != nil {
		return h.finish(ctx, j, err)
	}
	var face *fetched
	if j.Type == result.TypeFaceCompare {
		face, err = h.fetch(ctx, j, h.Store.Bucket(j.FaceSrc.Bucket), j.face, "face image", fetchOptions{single: true})
		defer face.close()
		j.res.FaceSource.Format = face.format
		if err != nil {
			return h.finish(ctx, j, err)
		}
	}
	// 5. Read each page: convert, call the vendor (call.go), mask, keep
	// progress (read.go); 6. write the result, record the batch (write.go).
	return h.finish(ctx, j, h.readPages(ctx, j, src, face))
}

// imageWhat names the image at fault in error messages; a pair has two.
func (j *job) imageWhat() string {
	if j.Type == result.TypeFaceCompare {
		return "card image"
	}
	return "source image"
}

// checkLocations refuses, before any read, a task whose result cannot be
// written where it belongs: a result key over S3's limit, a source key in
// the reserved _ocr/ area of the output, or a bucket outside the
// allow-lists (storage.buckets).
func (h *Handler) checkLocations(j *job) *ocrerr.Error {
	switch {
	case !h.Buckets.CanWrite(j.Dest.Bucket):
		return ocrerr.Permanent(ocrerr.ForbiddenLocation, "output bucket is not in storage.buckets.write")
	case !h.Buckets.CanRead(j.Src.Bucket):
		return ocrerr.Permanent(ocrerr.ForbiddenLocation, "source bucket is not in storage.buckets.read")
	case j.Face != "" && j.FaceSrc.Bucket != "" && !h.Buckets.CanRead(j.FaceSrc.Bucket):
		return ocrerr.Permanent(ocrerr.ForbiddenLocation, "face image bucket is not in storage.buckets.read")
	case len(j.resultKey) > layout.MaxKeyBytes:
		return ocrerr.Permanent(ocrerr.KeyTooLong, "result key would be %d bytes, over S3's %d", len(j.resultKey), layout.MaxKeyBytes)
	case layout.ReservedSource(j.Src.Key):
		return ocrerr.Permanent(ocrerr.ResultConflict, "source key lies in the reserved %s area of the output", layout.Area)
	}
	return nil
}

// lookup HEADs the source (and face photo) and the result. stop: the run
// ends with err, as when the result is current (the task then only counts
// in its batch).
// The result's HEAD is kept, so the write needs no second one.
func (h *Handler) lookup(ctx context.Context, j *job) (stop bool, err error) {
	j.src, err = h.Store.Bucket(j.Src.Bucket).Head(ctx, j.Src.Key)
	if err != nil {
		return true, h.finish(ctx, j, storageErr(err, j.imageWhat()))
	}
	j.res.Source.ETag, j.res.Source.Size = j.src.ETag, j.src.Size
	if j.Type == result.TypeFaceCompare {
		// The face photo's version is part of what makes a result current.
		j.face, err = h.Store.Bucket(j.FaceSrc.Bucket).Head(ctx, j.FaceSrc.Key)
		if err != nil {
			return true, h.finish(ctx, j, storageErr(err, "face image"))
		}
		j.faceRef = layout.FaceRef(j.Face, j.face.ETag)
		j.res.FaceSource = &result.Source{URI: j.Face, ETag: j.face.ETag, Size: j.face.Size}
	}

	existing, err := h.Store.Bucket(j.Dest.Bucket).Head(ctx, j.resultKey)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		j.resultSeen = true
		if err == nil {
			j.seenResult = &existing
		}
	}
	switch {
	case err == nil && !layout.OwnedBy(existing.Metadata, j.owner):
		return true, h.unwritable(ctx, j, errNotOurs())
	case err == nil && !j.Force && layout.ResultCurrent(existing.Metadata, j.owner, j.src.ETag, j.faceRef):
		j.log.Debug().Msg("result already exists for this source version")
		return true, h.recordBatch(ctx, j, existing.Metadata[layout.MetaStatus], existing.Metadata[layout.MetaCode])
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return true, h.finish(ctx, j, storageErr(err, "result"))
	}
	return false, nil
}

// pickVendor finds the task's vendor (config.VendorFor) and hands the task
// back while that vendor is halted. stop: the run ends, err is its outcome.
func (h *Handler) pickVendor(ctx context.Context, j *job) (stop bool, err error) {
	if !result.KnownType(j.Type) {
		return true, h.unknownOrFail(ctx, j, ocrerr.Permanent(ocrerr.UnknownDocumentType, "unknown document type %q", j.Type),
			"document type "+j.Type)
	}
	name, _, rerr := h.Config.VendorFor(j.Type, j.Vendor)
	var re *config.RouteError
	switch {
	case errors.As(rerr, &re) && re.Unknown:
		// A newer worker may know the vendor or route (a rolling deploy).
		return true, h.unknownOrFail(ctx, j, ocrerr.Permanent(ocrerr.UnknownVendor, "%v", rerr), "vendor or route")
	case rerr != nil:
		return true, h.finish(ctx, j, ocrerr.Permanent(ocrerr.UnknownDocumentType, "%v", rerr))
	}
	v := h.Vendors[name]
	if v == nil { // configured, but no client was built for it
		return true, h.unknownOrFail(ctx, j, ocrerr.Permanent(ocrerr.UnknownVendor, "vendor %q is not configured", name), "vendor or route")
	}
	j.vendor = v
	j.res.Vendor = result.VendorInfo{Name: v.Name, Kind: v.Client.Kind()}
	if n := len(j.RawKey()); v.KeepRaw && n > layout.MaxKeyBytes {
		return true, h.finish(ctx, j, ocrerr.Permanent(ocrerr.KeyTooLong, "raw copy key would be %d bytes, over S3's %d", n, layout.MaxKeyBytes))
	}
	if rq := h.haltedRequeue(ctx, v); rq != nil {
		return true, rq
	}
	return false, nil
}
