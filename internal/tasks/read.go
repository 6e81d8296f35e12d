package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/pages"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// converter is the worker-wide pages.Converter: one decode budget
// (worker.decodeBudget) for every task of the process.
func (h *Handler) converter() *pages.Converter {
	h.convOnce.Do(func() {
		if h.Converter == nil {
			_, budget, maxPixels := h.Config.PageLimits()
			h.Converter = &pages.Converter{Budget: pages.NewBudget(budget), MaxPixels: maxPixels, TempDir: h.TempDir}
		}
	})
	return h.Converter
}

// answer is what reading one page came to: the vendor's answer (masked
// unless the task keeps personal numbers) or the page's final failure.
type answer struct {
	status string
	fields any
	err    *result.ErrorInfo
	vendor result.VendorInfo // Endpoint, RequestID, UID, Details
}

// readPages reads the selected pages of the source, one vendor call each,
// and fills the result. One page read (a single-page source, or pages:
// first) gives the result as it always was; several give `pages`, with
// page 1's fields as `fields`, and the source fails as page_failed when
// any page did. The returned error is the run's outcome for finish.
func (h *Handler) readPages(ctx context.Context, j *job, src, face *fetched) error {
	if src.count > 1 {
		j.res.PageCount = src.count
	}
	if len(src.pages) == 1 {
		var facePage *pages.Image
		if face != nil {
			facePage = &face.pages[0]
		}
		a, err := h.readPage(ctx, j, src.pages[0], facePage, 0)
		j.res.Source.SHA256 = src.sum()
		if face != nil {
			j.res.FaceSource.SHA256 = face.sum()
		}
		if err != nil {
			return err
		}
		h.pageRead(j)
		j.res.Vendor.Endpoint, j.res.Vendor.RequestID, j.res.Vendor.UID = a.vendor.Endpoint, a.vendor.RequestID, a.vendor.UID
		j.res.Vendor.Details = a.vendor.Details
		j.res.Fields = a.fields
		return nil
	}

	n := len(src.pages)
	if err := h.checkPageKeys(j, n); err != nil {
		return err
	}
	saved, err := h.loadProgress(ctx, j)
	if err != nil {
		return err
	}
	j.progress = true
	answers := make([]*answer, n)
	var failed []string
	for i, img := range src.pages {
		page := i + 1
		a := saved[page]
		if a == nil {
			a, err = h.readPage(ctx, j, img, nil, page)
			if err != nil {
				if pageStops(ctx, j, err) {
					return err // saved pages stay for the next run
				}
				a = failedAnswer(j, err)
				j.log.Info().Int("page", page).Str("code", a.err.Code).Msg("page failed")
			}
			h.pageRead(j)
			if err := h.saveProgress(ctx, j, page, a); err != nil {
				return err
			}
		}
		answers[i] = a
		if a.status != result.StatusSucceeded {
			failed = append(failed, strconv.Itoa(page))
		}
	}
	j.res.Source.SHA256 = src.sum()
	j.res.Pages = make([]result.Page, n)
	for i, a := range answers {
		j.res.Pages[i] = result.Page{Page: i + 1, Status: a.status, Fields: a.fields, Error: a.err}
	}
	for _, a := range answers { // the vendor as the first page it answered names it
		if a.status == result.StatusSucceeded {
			j.res.Vendor.Endpoint, j.res.Vendor.RequestID, j.res.Vendor.UID = a.vendor.Endpoint, a.vendor.RequestID, a.vendor.UID
			j.res.Vendor.Details = a.vendor.Details
			break
		}
	}
	if len(failed) > 0 {
		return ocrerr.Permanent(ocrerr.PageFailed, "%d of %d pages failed (page %s); see pages", len(failed), n, strings.Join(failed, ", "))
	}
	j.res.Fields = answers[0].fields
	return nil
}

// pageRead counts a page whose answer is final (metrics, batch summary).
func (h *Handler) pageRead(j *job) {
	h.metrics().Pages(j.Type, 1)
	j.pages++
}

// spend adds what this run used (pages read, vendor calls) to its batch:
// before the source's outcome is counted, so that the summary the last
// outcome triggers includes it, and after a run that ends in a retry. An
// error only costs the count, never the task.
func (h *Handler) spend(ctx context.Context, j *job) {
	if h.Batches == nil || j.Batch == "" || (j.pages == 0 && j.calls == 0) || layout.CheckBatchID(j.Batch) != nil {
		return
	}
	vendor := ""
	if j.vendor != nil {
		vendor = j.vendor.Name
	}
	if err := h.Batches.Spent(ctx, j.Batch, vendor, int64(j.pages), int64(j.calls)); err != nil {
		j.log.Warn().Err(err).Msg("batch page and call counts not updated")
	}
	j.pages, j.calls = 0, 0
}

// readPage prepares one page (and the face photo of a face-compare) for
// the vendor's formats, makes the call under the vendor's gate and limits,
// masks the answer and writes its raw copy. page is 0 for a single-page
// read, else the page number.
func (h *Handler) readPage(ctx context.Context, j *job, img pages.Image, face *pages.Image, page int) (*answer, error) {
	v := j.vendor
	what := j.imageWhat()
	if page > 0 {
		what = fmt.Sprintf("page %d", page)
	}
	p, err := h.sendable(ctx, j, img, what)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	req := &vendors.Request{DocumentType: j.Type, Image: p.vendorImage(), PII: v.PII || (v.TaskPII && j.PII),
		KeepRaw: v.KeepRaw, Verify: v.Verify || j.Verify}
	if face != nil {
		fp, err := h.sendable(ctx, j, *face, "face image")
		if err != nil {
			return nil, err
		}
		defer fp.Close()
		fi := fp.vendorImage()
		req.Face = &fi
	}
	resp, err := h.call(ctx, j, req)
	if err != nil {
		return nil, err
	}
	if !req.PII {
		if err := vendors.Scrub(j.Type, resp); err != nil {
			return nil, ocrerr.Permanent(ocrerr.Internal, "%v", err)
		}
	}
	if v.KeepRaw && len(resp.Raw) > 0 {
		key := j.RawKey()
		if page > 0 {
			key = layout.PageRawKey(j.Dest.Key, j.Src.Key, page)
		}
		if _, err := h.Store.Bucket(j.Dest.Bucket).Put(ctx, key, bytes.NewReader(resp.Raw), int64(len(resp.Raw)),
			storage.PutOptions{ContentType: "application/json"}); err != nil {
			return nil, storageErr(err, "raw result")
		}
	}
	return &answer{status: result.StatusSucceeded, fields: resp.Fields,
		vendor: result.VendorInfo{Endpoint: resp.Endpoint, RequestID: resp.RequestID, UID: resp.UID, Details: resp.Details}}, nil
}

// sendablePage is a page as the vendor will read it.
type sendablePage struct{ *pages.Prepared }

func (p sendablePage) vendorImage() vendors.Image {
	// A neutral name: object keys may hold personal data.
	return vendors.Image{Name: "image", Format: p.Format, Size: p.Size, Open: p.Open}
}

// sendable turns a page into what the vendor takes (pages.Converter.Prepare:
// passed through, turned upright or converted) and applies maxImageBytes
// to what will be sent.
func (h *Handler) sendable(ctx context.Context, j *job, img pages.Image, what string) (sendablePage, error) {
	v := j.vendor
	p, err := h.converter().Prepare(ctx, img, v.Client.Formats())
	if err != nil {
		return sendablePage{}, h.pageErr(err, what)
	}
	if v.MaxImageBytes > 0 && p.Size > v.MaxImageBytes {
		p.Close()
		how := "as sent"
		if p.Converted {
			how = "converted to " + p.Format
		}
		return sendablePage{}, ocrerr.Permanent(ocrerr.TooLarge, "%s is %d bytes %s, over the limit of %d", what, p.Size, how, v.MaxImageBytes)
	}
	return sendablePage{p}, nil
}

// pageStops reports whether a page's error ends the run instead of
// becoming that page's failure: a requeue, shutdown, storage trouble, or a
// transient failure with tries left. The pages answered so far are saved,
// so the next run pays only for the rest.
func pageStops(ctx context.Context, j *job, err error) bool {
	var rq *requeue
	if errors.As(err, &rq) || ctx.Err() != nil {
		return true
	}
	e := ocrerr.Classify(err)
	return e.Code == ocrerr.StorageUnavailable || (e.Retryable && !j.lastTry)
}

// failedAnswer is a page's final failure.
func failedAnswer(j *job, err error) *answer {
	return &answer{status: result.StatusFailed, err: result.ErrorInfoFrom(finalError(j, ocrerr.Classify(err)))}
}

// finalError is e as a final outcome: a transient failure on the last try
// becomes retries_exhausted, naming the last error.
func finalError(j *job, e *ocrerr.Error) *ocrerr.Error {
	if !e.Retryable {
		return e
	}
	final := *e
	final.Code, final.Message = ocrerr.RetriesExhausted, fmt.Sprintf("gave up after %d attempts; last error %s: %s", j.attempt, e.Code, e.Message)
	return &final
}

// checkPageKeys refuses a multi-page source whose per-page keys would be
// over S3's limit, before any call.
func (h *Handler) checkPageKeys(j *job, n int) error {
	if k := layout.ProgressKey(j.Dest.Key, j.Src.Key, n); len(k) > layout.MaxKeyBytes {
		return ocrerr.Permanent(ocrerr.KeyTooLong, "page progress key would be %d bytes, over S3's %d", len(k), layout.MaxKeyBytes)
	}
	if k := layout.PageRawKey(j.Dest.Key, j.Src.Key, n); j.vendor.KeepRaw && len(k) > layout.MaxKeyBytes {
		return ocrerr.Permanent(ocrerr.KeyTooLong, "raw copy key would be %d bytes, over S3's %d", len(k), layout.MaxKeyBytes)
	}
	return nil
}

// Per-page progress. Each page's answer of a multi-page source is saved
// under layout.ProgressKey as soon as it is known, so a retry (a later
// page failed transiently, the worker crashed or was stopped) pays only for
// the pages without one: a crash costs at most the call in flight. A saved
// answer counts only for the same source version, vendor and masking
// (layout.ProgressMeta); it holds what the result will hold (masked
// fields), never more. The saved answers are removed once the result is
// written (dropProgress).

// savedAnswer is the JSON of a saved page answer.
type savedAnswer struct {
	Status    string            `json:"status"`
	Fields    json.RawMessage   `json:"fields"`
	Error     *result.ErrorInfo `json:"error"`
	Endpoint  string            `json:"endpoint,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
	UID       string            `json:"uid,omitempty"`
	Details   []savedDetail     `json:"details,omitempty"`
}

type savedDetail struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// maxSavedAnswer bounds what is read back of one saved answer.
const maxSavedAnswer = 8 << 20

func (j *job) progressPII() bool {
	return j.vendor.PII || (j.vendor.TaskPII && j.PII)
}

func (h *Handler) saveProgress(ctx context.Context, j *job, page int, a *answer) error {
	fields, err := json.Marshal(a.fields)
	if err != nil {
		return ocrerr.Permanent(ocrerr.Internal, "marshal page answer: %v", err)
	}
	s := savedAnswer{Status: a.status, Fields: fields, Error: a.err, Endpoint: a.vendor.Endpoint, RequestID: a.vendor.RequestID, UID: a.vendor.UID}
	for _, d := range a.vendor.Details {
		s.Details = append(s.Details, savedDetail{d.Key, d.Value})
	}
	b, err := json.Marshal(s)
	if err != nil {
		return ocrerr.Permanent(ocrerr.Internal, "marshal page answer: %v", err)
	}
	_, err = h.Store.Bucket(j.Dest.Bucket).Put(ctx, layout.ProgressKey(j.Dest.Key, j.Src.Key, page), bytes.NewReader(b), int64(len(b)),
		storage.PutOptions{ContentType: "application/json", Metadata: layout.ProgressMeta(j.owner, j.src.ETag, j.vendor.Name, j.progressPII())})
	if err != nil {
		return storageErr(err, "page progress")
	}
	return nil
}

// loadProgress reads the saved answers of this read (one LIST, then a GET
// per saved page). Answers of another source version, vendor or masking
// are ignored (and replaced as pages are read again).
func (h *Handler) loadProgress(ctx context.Context, j *job) (map[int]*answer, error) {
	b := h.Store.Bucket(j.Dest.Bucket)
	prefix := layout.ProgressPrefix(j.Dest.Key, j.Src.Key)
	var keys []string
	err := b.List(ctx, prefix, "", func(o storage.ObjectInfo) error {
		if layout.ProgressPage(prefix, o.Key) > 0 {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, storageErr(err, "page progress")
	}
	saved := map[int]*answer{}
	for _, key := range keys {
		rc, info, err := b.Get(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storageErr(err, "page progress")
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxSavedAnswer))
		rc.Close()
		if err != nil {
			return nil, storageErr(err, "page progress")
		}
		if !layout.ProgressCurrent(info.Metadata, j.owner, j.src.ETag, j.vendor.Name, j.progressPII()) {
			continue
		}
		a, ok := decodeSaved(j.Type, data)
		if !ok {
			j.log.Warn().Int("page", layout.ProgressPage(prefix, key)).Msg("unreadable saved page answer: the page is read again")
			continue
		}
		saved[layout.ProgressPage(prefix, key)] = a
	}
	if len(saved) > 0 {
		j.log.Info().Int("pages", len(saved)).Msg("pages answered by an earlier run: not read again")
	}
	return saved, nil
}

func decodeSaved(docType string, data []byte) (*answer, bool) {
	var s savedAnswer
	if json.Unmarshal(data, &s) != nil || (s.Status != result.StatusSucceeded && s.Status != result.StatusFailed) ||
		(s.Status == result.StatusFailed && s.Error == nil) {
		return nil, false
	}
	a := &answer{status: s.Status, err: s.Error, vendor: result.VendorInfo{Endpoint: s.Endpoint, RequestID: s.RequestID, UID: s.UID}}
	for _, d := range s.Details {
		a.vendor.Details = append(a.vendor.Details, result.Detail{Key: d.Key, Value: d.Value})
	}
	if len(s.Fields) > 0 && !bytes.Equal(s.Fields, []byte("null")) {
		fields := vendors.FieldsType(docType)
		if fields == nil || json.Unmarshal(s.Fields, fields) != nil {
			return nil, false
		}
		a.fields = fields
	}
	return a, true
}

// dropProgress removes a source's saved page answers once its result is
// written. A failure leaves them behind, harmless: they count only for
// this source version and are replaced or removed by its next read.
func (h *Handler) dropProgress(ctx context.Context, j *job) {
	if !j.progress {
		return
	}
	b := h.Store.Bucket(j.Dest.Bucket)
	prefix := layout.ProgressPrefix(j.Dest.Key, j.Src.Key)
	var keys []string
	err := b.List(ctx, prefix, "", func(o storage.ObjectInfo) error {
		if layout.ProgressPage(prefix, o.Key) > 0 { // not another source's, below K/
			keys = append(keys, o.Key)
		}
		return nil
	})
	for _, k := range keys {
		if err == nil {
			err = b.Delete(ctx, k)
		}
	}
	if err != nil {
		j.log.Warn().Err(ocrerr.Redact(err)).Msg("saved page answers not removed")
	}
}
