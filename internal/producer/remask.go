package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Remasker rewrites the results and raw copies under a prefix with today's
// masking (producer remask), for results written by older versions or
// with pii: full. It calls no vendor: masking only ever hides more.
type Remasker struct {
	Store storage.Store
	// MaskRaw applies today's masking of a vendor kind to a stored raw
	// copy (vendorset.MaskRaw).
	MaskRaw func(kind string, raw []byte) ([]byte, error)
	DryRun  bool
}

// RemaskSummary counts what a remask did (or, dry, would do).
type RemaskSummary struct {
	Results    int64 // ocr-result/v1 objects read
	Changed    int64 // results rewritten (dry run: that would be)
	RawChanged int64 // raw copies rewritten (dry run: that would be)
	Skipped    int64 // .json objects that are not results (raw copies, batch summaries, ...)
	Conflicts  int64 // changed meanwhile by someone else: the newer object stands
	DryRun     bool
}

func (s RemaskSummary) String() string {
	verb := "rewritten"
	if s.DryRun {
		verb = "would be rewritten"
	}
	return fmt.Sprintf("remask: %d results read, %d results and %d raw copies %s, %d objects skipped (not results), %d changed meanwhile (kept)",
		s.Results, s.Changed, s.RawChanged, verb, s.Skipped, s.Conflicts)
}

// maxRemaskObject bounds what remask reads into memory per object; results
// are small, anything bigger is not one.
const maxRemaskObject = 64 << 20

// Run remasks every result under prefix. The listing is streamed: memory
// does not grow with the prefix. Writes are conditional on the ETag read,
// so a result a worker writes meanwhile is never clobbered.
func (r *Remasker) Run(ctx context.Context, prefix storage.URI) (RemaskSummary, error) {
	sum := RemaskSummary{DryRun: r.DryRun}
	bucket := r.Store.Bucket(prefix.Bucket)
	err := bucket.List(ctx, prefix.Key, "", func(o storage.ObjectInfo) error {
		if !strings.HasSuffix(o.Key, ".json") || o.Size > maxRemaskObject || layout.Reserved(o.Key) {
			return nil // raw copies in _ocr/ are reached through their results
		}
		return r.one(ctx, bucket, prefix.Key, o.Key, &sum)
	})
	if err != nil {
		return sum, fmt.Errorf("remask: %w", ocrerr.Redact(err))
	}
	return sum, nil
}

// one remasks the result at key (under the output prefix outKey) and its
// raw copies, today's and the one older versions left next to it.
func (r *Remasker) one(ctx context.Context, bucket storage.Bucket, outKey, key string, sum *RemaskSummary) error {
	b, info, err := readObject(ctx, bucket, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // deleted since the listing
	}
	if err != nil {
		return fmt.Errorf("read: %w", ocrerr.Redact(err))
	}
	var res map[string]json.RawMessage
	var head struct {
		Schema       string `json:"schema"`
		DocumentType string `json:"documentType"`
		Vendor       struct {
			Kind string `json:"kind"`
		} `json:"vendor"`
	}
	if json.Unmarshal(b, &res) != nil || json.Unmarshal(b, &head) != nil || head.Schema != result.Schema {
		sum.Skipped++ // never rewrite what is not a result
		return nil
	}
	sum.Results++
	changed := false
	masked, ok, err := scrubbed(head.DocumentType, res["fields"])
	if err != nil {
		sum.Skipped++ // fields this version cannot read: left as they are
		return nil
	}
	if ok {
		res["fields"], changed = masked, true
	}
	// A multi-page source's result holds every page's fields as well.
	var pages []map[string]json.RawMessage
	if p := res["pages"]; len(p) > 0 && json.Unmarshal(p, &pages) == nil {
		pagesChanged := false
		for _, pg := range pages {
			if masked, ok, _ := scrubbed(head.DocumentType, pg["fields"]); ok {
				pg["fields"], pagesChanged = masked, true
			}
		}
		if pagesChanged {
			b, err := json.Marshal(pages)
			if err != nil {
				return err
			}
			res["pages"], changed = b, true
		}
	}
	if changed {
		out, err := json.Marshal(res)
		if err != nil {
			return err
		}
		ok, err := r.write(ctx, bucket, key, out, info, sum)
		if err != nil {
			return err
		}
		if !ok {
			return nil // a newer result stands: its raw copies are its own
		}
		sum.Changed++
	}
	sourceKey := strings.TrimSuffix(strings.TrimPrefix(key, outKey), ".json")
	for n := range pages {
		if err := r.raw(ctx, bucket, layout.PageRawKey(outKey, sourceKey, n+1), head.Vendor.Kind, sum); err != nil {
			return err
		}
	}
	if err := r.raw(ctx, bucket, layout.RawKey(outKey, sourceKey), head.Vendor.Kind, sum); err != nil {
		return err
	}
	return r.raw(ctx, bucket, layout.LegacyRawKey(key), head.Vendor.Kind, sum)
}

// scrubbed is fields with today's masking, ok when that changed them
// (null or absent fields are left as they are).
func scrubbed(docType string, fields json.RawMessage) (json.RawMessage, bool, error) {
	if len(fields) == 0 || bytes.Equal(fields, []byte("null")) {
		return nil, false, nil
	}
	masked, changed, err := normalize.ScrubFields(docType, fields)
	if err != nil || !changed {
		return nil, false, err
	}
	return masked, true, nil
}

// raw remasks the raw copy of a result, if there is one.
func (r *Remasker) raw(ctx context.Context, bucket storage.Bucket, key, kind string, sum *RemaskSummary) error {
	b, info, err := readObject(ctx, bucket, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read raw copy: %w", ocrerr.Redact(err))
	}
	if isResult(b) {
		return nil // a result of a source named K.raw, not a raw copy
	}
	masked, err := r.MaskRaw(kind, b)
	if err != nil {
		return nil // not a raw copy this version can read: leave it
	}
	if canonical(b) == canonical(masked) {
		return nil
	}
	ok, err := r.write(ctx, bucket, key, masked, info, sum)
	if ok {
		sum.RawChanged++
	}
	return err
}

// write replaces key only if it is still the version read (If-Match), with
// its content type and metadata. A failed precondition means a worker wrote
// a newer object meanwhile, masked by today's rules: it stands (false).
func (r *Remasker) write(ctx context.Context, bucket storage.Bucket, key string, b []byte, read storage.ObjectInfo, sum *RemaskSummary) (bool, error) {
	if r.DryRun {
		return true, nil
	}
	_, err := bucket.Put(ctx, key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{
		ContentType: read.ContentType, Metadata: read.Metadata, IfMatch: read.ETag})
	if errors.Is(err, storage.ErrPreconditionFailed) {
		sum.Conflicts++
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write: %w", ocrerr.Redact(err))
	}
	return true, nil
}

func readObject(ctx context.Context, bucket storage.Bucket, key string) ([]byte, storage.ObjectInfo, error) {
	rc, info, err := bucket.Get(ctx, key)
	if err != nil {
		return nil, info, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxRemaskObject))
	return b, info, err
}

func isResult(b []byte) bool {
	var head struct {
		Schema string `json:"schema"`
	}
	return json.Unmarshal(b, &head) == nil && head.Schema == result.Schema
}

// canonical is JSON as encoding/json writes it, to compare content
// whatever the layout it was stored with.
func canonical(b []byte) string {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
