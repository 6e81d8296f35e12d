package dashboard

// A failure's result JSON, read through the dashboard from storage: the
// batch records where its results lie (batch.Outputs: source root and
// output prefix pairs), the failure names its source, and layout says the
// result's key. The object is shown as stored, so with the results' own
// masking; one that belongs to another source (layout.OwnedBy) is not shown.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// maxResultBytes bounds one result read for the page: results are small
// (a few KiB); a larger object is not shown rather than read whole.
const maxResultBytes = 256 << 10

// failureView is one failed source on the batch page.
type failureView struct {
	batch.Failure
	JSON string // the stored result, indented; "" with Note saying why
	Note string
}

// outputs lists where batch id's results lie, or says why result JSON
// cannot be shown at all.
func (p *batchPages) outputs(ctx context.Context, id string) ([]batch.Output, string) {
	if p.store == nil {
		return nil, "result JSON needs storage: start the dashboard with --config"
	}
	outs, err := p.tracker.Outputs(ctx, id)
	switch {
	case errors.Is(err, batch.ErrTooManyOutputs):
		return nil, "this batch wrote to more output locations than it records; read its results with producer export --prefix"
	case err != nil:
		return nil, "Redis: the batch's output locations cannot be read"
	case len(outs) == 0:
		return nil, "this batch recorded no output location (enqueued by an older producer)"
	}
	return outs, ""
}

// failureViews pairs each failure with its stored result when it can.
func (p *batchPages) failureViews(ctx context.Context, outs []batch.Output, canRead bool, failures []batch.Failure) []failureView {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	views := make([]failureView, 0, len(failures))
	for _, f := range failures {
		v := failureView{Failure: f}
		if canRead {
			v.JSON, v.Note = p.resultJSON(ctx, outs, f.Source)
		}
		views = append(views, v)
	}
	return views
}

// resultJSON finds and reads the result of source. Errors become a note
// that names no key: the source is on the page already, nothing more leaks.
func (p *batchPages) resultJSON(ctx context.Context, outs []batch.Output, source string) (string, string) {
	src, err := storage.ParseURI(source)
	if err != nil {
		return "", "the source is not a storage URI"
	}
	owner := layout.Owner(source)
	note := "no result object found (not written yet, or removed)"
	for _, o := range outs {
		if !strings.HasPrefix(source, o.Source) {
			continue
		}
		out, err := storage.ParseURI(o.Out)
		if err != nil {
			continue
		}
		body, found, err := readResult(ctx, p.store.Bucket(out.Bucket), layout.ResultKey(out.Key, src.Key), owner)
		switch {
		case err != nil:
			note = err.Error()
		case found:
			return body, ""
		}
	}
	return "", note
}

// readResult reads one result object if it is the source's (owner).
func readResult(ctx context.Context, b storage.Bucket, key, owner string) (string, bool, error) {
	rc, info, err := b.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		if storage.IsTransient(err) {
			return "", false, errors.New("storage did not answer; reload the page to try again")
		}
		return "", false, errors.New("storage refused to read the result")
	}
	defer rc.Close()
	if !layout.OwnedBy(info.Metadata, owner) {
		return "", false, nil // another source's result under the same key
	}
	if info.Size > maxResultBytes {
		return "", false, errors.New("the result is too large to show here")
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxResultBytes+1))
	if err != nil {
		return "", false, errors.New("storage stopped while reading the result; reload the page")
	}
	if len(data) > maxResultBytes {
		return "", false, errors.New("the result is too large to show here")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, data, "", "  "); err != nil {
		return "", false, errors.New("the stored result is not JSON")
	}
	return pretty.String(), true, nil
}
