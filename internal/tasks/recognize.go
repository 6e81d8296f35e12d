package tasks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Result object metadata: lets a producer or a re-run task decide from a
// HEAD whether a result is current, without reading it.
const (
	MetaSourceETag = "source-etag"
	MetaStatus     = "status"
	MetaCode       = "error-code"
)

// Vendor is one configured vendor account as the handler sees it.
type Vendor struct {
	Name          string
	Client        vendors.Client
	Gate          Gate
	PII           bool
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
	Metrics  Metrics // optional
	Batches  Batches // optional
	RateWait time.Duration
	Now      func() time.Time
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
	res       result.Result
	vendor    *Vendor
	faceRef   string // face-compare: FaceRef of the face photo
}

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	id, _ := asynq.GetTaskID(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	log := h.Log.With().Str("task", id).Logger()

	p, err := decodeRecognize(t.Payload())
	if err != nil {
		// Without a readable source and output there is nowhere to write a
		// result: archive the task (visible in the dashboard) instead.
		if p.Source == "" || p.Out == "" || !canWrite(p) {
			log.Error().Err(err).Msg("unreadable task payload: archived")
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		j := h.newJob(p, log, retried, maxRetry)
		return h.finish(ctx, j, ocrerr.Permanent(ocrerr.InvalidTask, "%v", err))
	}
	j := h.newJob(p, log, retried, maxRetry)
	return h.run(ctx, j)
}

func canWrite(p Recognize) bool {
	src, err := storage.ParseURI(p.Source)
	if err != nil || src.IsPrefix() {
		return false
	}
	_, err = OutPrefix(p.Out)
	return err == nil
}

func (h *Handler) newJob(p Recognize, log zerolog.Logger, retried, maxRetry int) *job {
	j := &job{p: p, log: log, attempt: retried + 1, lastTry: retried >= maxRetry, started: h.now()}
	j.src, _ = storage.ParseURI(p.Source)
	j.out, _ = OutPrefix(p.Out)
	j.resultKey = ResultKey(j.out, j.src.Key)
	j.res = result.Result{
		Schema: result.Schema, DocumentType: p.Type, Batch: p.Batch, Attempts: j.attempt,
		Source: result.Source{URI: p.Source},
	}
	return j
}

func (h *Handler) run(ctx context.Context, j *job) error {
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
		j.faceRef = FaceRef(j.p.Face, faceInfo.ETag)
		j.res.FaceSource = &result.Source{URI: j.p.Face, ETag: faceInfo.ETag, Size: faceInfo.Size}
	}

	// A result for this very version of the source means the work is done:
	// a re-run after a crash or a duplicate costs no vendor call.
	existing, err := h.Store.Bucket(j.out.Bucket).Head(ctx, j.resultKey)
	switch {
	case err == nil && !j.p.Force && ResultCurrent(existing.Metadata, info.ETag, j.faceRef):
		j.log.Debug().Msg("result already exists for this source version")
		return h.recordBatch(ctx, j, existing.Metadata[MetaStatus], existing.Metadata[MetaCode])
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return h.finish(ctx, j, storageErr(err, "result"))
	}

	if !result.KnownType(j.p.Type) {
		return h.finish(ctx, j, ocrerr.Permanent(ocrerr.UnknownDocumentType, "unknown document type %q", j.p.Type))
	}
	v, oerr := h.vendorFor(j.p)
	if oerr != nil {
		return h.finish(ctx, j, oerr)
	}
	j.vendor = v
	j.res.Vendor = result.VendorInfo{Name: v.Name, Kind: v.Client.Kind()}
	if rq := h.haltedRequeue(ctx, v); rq != nil {
		return rq
	}

	img, oerr := h.prepare(ctx, j, srcBucket, info, srcWhat)
	if oerr != nil {
		return h.finish(ctx, j, oerr)
	}
	defer img.close()
	req := &vendors.Request{DocumentType: j.p.Type, Image: img.image, PII: v.PII, KeepRaw: v.KeepRaw, Verify: v.Verify || j.p.Verify}
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
	j.res.Source.SHA256 = img.sum()
	if face != nil {
		j.res.FaceSource.SHA256 = face.sum()
	}
	j.res.Vendor.Endpoint, j.res.Vendor.RequestID, j.res.Vendor.UID = resp.Endpoint, resp.RequestID, resp.UID
	j.res.Vendor.InferDetailType, j.res.Vendor.InferDetailResource, j.res.Vendor.IsGrayScale = resp.InferDetailType, resp.InferDetailResource, resp.IsGrayScale
	j.res.Fields = resp.Fields
	if v.KeepRaw && len(resp.Raw) > 0 {
		rawKey := j.resultKey[:len(j.resultKey)-len(".json")] + ".raw.json"
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

// throttleRetries bounds how often one task run retries a throttled call
// itself before handing the task back to the queue.
const throttleRetries = 5

// call passes the vendor's gate and makes the call. A throttled call slows
// every worker down (the gate) and is retried here, after the gate's wait,
// rather than through asynq's retry set whose polling would waste the
// limit; halts and long waits become requeues that cost the task nothing.
func (h *Handler) call(ctx context.Context, j *job, req *vendors.Request) (*vendors.Response, error) {
	v := j.vendor
	gate := v.Gate
	if gate == nil {
		gate = openGate{}
	}
	for try := 0; ; try++ {
		resp, err := h.callOnce(ctx, j, gate, req)
		e, ok := ocrerr.As(err)
		if !ok || !e.Throttle {
			return resp, err
		}
		gate.Throttled(ctx, e.RetryAfter)
		if try >= throttleRetries {
			return nil, &requeue{after: max(e.RetryAfter, time.Second), reason: "vendor throttled"}
		}
		j.log.Debug().Str("vendor", v.Name).Dur("retryAfter", e.RetryAfter).Msg("vendor throttled: retrying after the shared wait")
	}
}

// callOnce is one gated vendor call.
func (h *Handler) callOnce(ctx context.Context, j *job, gate Gate, req *vendors.Request) (*vendors.Response, error) {
	v := j.vendor
	wctx, cancel := context.WithTimeout(ctx, h.rateWait())
	release, waited, err := gate.Acquire(wctx)
	cancel()
	if waited > time.Second {
		j.log.Debug().Dur("waited", waited).Str("vendor", v.Name).Msg("waited for a vendor slot")
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // shutting down: asynq hands the task back
		}
		return nil, &requeue{after: time.Second, reason: "no vendor slot: " + err.Error()}
	}
	start := time.Now()
	resp, err := v.Client.Recognize(ctx, req)
	release()
	endpoint := req.DocumentType
	if resp != nil {
		endpoint = resp.Endpoint
	}
	if err == nil {
		h.metrics().VendorCall(v.Name, endpoint, "ok", time.Since(start))
		return resp, nil
	}
	e := ocrerr.Classify(err)
	h.metrics().VendorCall(v.Name, endpoint, string(e.Code), time.Since(start))
	if e.Halt {
		until := time.Now().Add(v.HaltFor)
		j.log.Error().Str("vendor", v.Name).Str("code", string(e.Code)).Str("vendorCode", e.VendorCode).
			Time("until", until).Msg("vendor halted for every worker: resume with 'producer resume " + v.Name + "'")
		if herr := gate.Halt(ctx, string(e.Code), until); herr != nil {
			j.log.Error().Err(herr).Msg("could not record vendor halt")
		}
		return nil, &requeue{after: v.HaltFor, reason: "vendor halted: " + string(e.Code)}
	}
	return nil, e
}

// haltedRequeue hands the task back until the vendor's halt ends, without
// touching storage or counting a failure. `producer resume` runs waiting
// tasks at once, so the long delay does not outlast the halt.
func (h *Handler) haltedRequeue(ctx context.Context, v *Vendor) error {
	if v.Gate == nil {
		return nil
	}
	until, halted := v.Gate.Halted(ctx)
	if !halted {
		return nil
	}
	wait := v.HaltFor
	if !until.IsZero() {
		wait = min(time.Until(until), wait)
	}
	return &requeue{after: max(wait, time.Second), reason: "vendor " + v.Name + " is halted"}
}

func (h *Handler) rateWait() time.Duration {
	if h.RateWait <= 0 {
		return time.Minute
	}
	return h.RateWait
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
			// Storage trouble is never the document's fault: keep retrying
			// (asynq archives after the budget, so nothing is lost).
			j.log.Warn().Err(e).Int("attempt", j.attempt).Msg("storage unavailable")
			return e
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
	if werr := h.writeResult(ctx, j); werr != nil {
		j.log.Warn().Err(werr).Msg("result write failed: will retry")
		return werr
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
	prev, err := bucket.Head(ctx, j.resultKey)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		opts.IfNoneMatch = true
	case err != nil:
		return storageErr(err, "result")
	case ResultCurrent(prev.Metadata, j.res.Source.ETag, j.faceRef) && !j.p.Force:
		return nil // another run already wrote this source version's result
	default:
		// The result is of another source version. Replace it only if ours
		// is the current version: a run that read an older version must not
		// clobber the result of a newer one.
		cur, err := h.Store.Bucket(j.src.Bucket).Head(ctx, j.src.Key)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return storageErr(err, "source image")
		}
		if err == nil && cur.ETag != j.res.Source.ETag {
			j.log.Info().Msg("source changed while it was read: the newer version's result stands")
			return nil
		}
		opts.IfMatch = prev.ETag
	}
	_, err = bucket.Put(ctx, j.resultKey, bytes.NewReader(b), int64(len(b)), opts)
	if errors.Is(err, storage.ErrPreconditionFailed) {
		// A concurrent run wrote first; its result stands.
		return nil
	}
	if err != nil {
		return storageErr(err, "result")
	}
	return nil
}

// recordBatch counts the source's final outcome in its batch. If Redis
// cannot take the count, the task is requeued (not a failure): its result is
// written, so the next run costs no vendor call and only counts it, once.
// Without this a Redis outage left batches "running" forever.
func (h *Handler) recordBatch(ctx context.Context, j *job, status, code string) error {
	if h.Batches == nil || j.p.Batch == "" {
		return nil
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
		j.log.Error().Err(err).Str("batch", j.p.Batch).Msg("batch summary not written")
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
// document's final outcome, anything else is transient.
func storageErr(err error, what string) *ocrerr.Error {
	if errors.Is(err, storage.ErrNotFound) {
		return ocrerr.Permanent(ocrerr.SourceNotFound, "%s not found", what).Wrap(nil)
	}
	return ocrerr.Transient(ocrerr.StorageUnavailable, "%s: storage unavailable", what).Wrap(err)
}

// prepared is a checked image ready to send.
type prepared struct {
	image vendors.Image
	hash  hash.Hash
	full  bool   // hash covers the whole image
	close func() // closes the sniffing GET if the client never opened the image
}

func (p *prepared) sum() string {
	if !p.full {
		return ""
	}
	return hex.EncodeToString(p.hash.Sum(nil))
}

// prepare checks an image before any vendor call (size, real format, page
// count) and returns it as a re-openable stream. The first Open reuses the
// sniffing GET, so a normal document costs one GET.
func (h *Handler) prepare(ctx context.Context, j *job, b storage.Bucket, info storage.ObjectInfo, what string) (*prepared, *ocrerr.Error) {
	v := j.vendor
	if info.Size == 0 {
		return nil, ocrerr.Permanent(ocrerr.EmptySource, "%s is empty (0 bytes)", what)
	}
	if v.MaxImageBytes > 0 && info.Size > v.MaxImageBytes {
		return nil, ocrerr.Permanent(ocrerr.TooLarge, "%s is %d bytes, over the limit of %d", what, info.Size, v.MaxImageBytes)
	}
	rc, _, err := b.Get(ctx, info.Key)
	if err != nil {
		return nil, storageErr(err, what)
	}
	head := make([]byte, imageformat.SniffLen)
	n, err := io.ReadFull(rc, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		rc.Close()
		return nil, storageErr(err, what)
	}
	head = head[:n]
	format, known := imageformat.Detect(head)
	if !known {
		rc.Close()
		return nil, ocrerr.Permanent(ocrerr.InvalidImage, "%s is not an image (unrecognized bytes)", what)
	}
	if !contains(v.Client.Formats(), format) {
		rc.Close()
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "%s is %s; vendor %q takes %v", what, format, v.Name, v.Client.Formats())
	}
	p := &prepared{hash: sha256.New()}
	var whole []byte
	if format == "pdf" || format == "tiff" {
		// Page counting needs random access; these are bounded by MaxImageBytes.
		rest, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, storageErr(err, what)
		}
		whole = append(head, rest...)
		pages, err := imageformat.PageCount(bytes.NewReader(whole), int64(len(whole)), format)
		switch {
		case errors.Is(err, imageformat.ErrPageCountUnknown):
			// A valid file whose page tree we cannot read (e.g. a PDF 1.5
			// object stream): let the vendor judge it rather than refuse it.
			j.log.Debug().Str("format", format).Msg("page count unknown: sent as is")
		case err != nil:
			return nil, ocrerr.Permanent(ocrerr.InvalidImage, "%s: unreadable %s: %v", what, format, err)
		case pages > 1:
			return nil, ocrerr.Permanent(ocrerr.MultiPage, "%s has %d pages; one page is allowed", what, pages)
		}
	}
	first := true
	p.close = func() {
		if first && whole == nil {
			first = false
			rc.Close()
		}
	}
	metrics := h.metrics()
	p.image = vendors.Image{
		Name:   "image", // neutral: object keys may hold personal data
		Format: format,
		Size:   info.Size,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			p.hash.Reset()
			p.full = false
			if whole != nil {
				return &hashingReader{r: io.NopCloser(bytes.NewReader(whole)), p: p, metrics: metrics}, nil
			}
			if first {
				first = false
				return &hashingReader{r: struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(head), rc), rc}, p: p, metrics: metrics}, nil
			}
			r, _, err := b.Get(ctx, info.Key)
			if err != nil {
				return nil, storageErr(err, what)
			}
			return &hashingReader{r: r, p: p, metrics: metrics}, nil
		},
	}
	return p, nil
}

// hashingReader hashes and counts what the vendor client streams.
type hashingReader struct {
	n       int64
	r       io.ReadCloser
	p       *prepared
	metrics Metrics
}

func (h *hashingReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	h.p.hash.Write(b[:n])
	h.n += int64(n)
	if err == io.EOF {
		h.p.full = true
	}
	return n, err
}

func (h *hashingReader) Close() error {
	h.metrics.BytesFetched(h.n)
	return h.r.Close()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
