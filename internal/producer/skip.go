package producer

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// resultState is what the producer knows of a source's result before any HEAD.
type resultState int

const (
	resultUnknown resultState = iota // not listed: HEAD the result to find out
	resultAbsent                     // the output listing has no result: enqueue, no HEAD
	resultListed                     // the output listing has one: HEAD it to compare ETags
)

// skipper decides whether a source already has a current result (same
// source ETag). Listed sources arrive with their resultState from a
// resultMerge, so only results that exist are HEADed.
type skipper struct {
	store storage.Store
	// failed counts the skipped sources whose current result is a
	// failure (Summary.SkippedFailed).
	failed atomic.Int64
}

func newSkipper(s storage.Store) *skipper { return &skipper{store: s} }

func (s *skipper) current(ctx context.Context, it Item) (bool, error) {
	if it.Result == resultAbsent {
		return false, nil
	}
	src, err := storage.ParseURI(it.Task.Source)
	if err != nil {
		return false, err
	}
	out, err := layout.OutPrefix(it.Task.Out)
	if err != nil {
		return false, err
	}
	info, err := s.store.Bucket(out.Bucket).Head(ctx, layout.ResultKey(out.Key, src.Key))
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	etag := it.ETag
	if !it.Known {
		si, err := s.store.Bucket(src.Bucket).Head(ctx, src.Key)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil // let the worker write source_not_found
		}
		if err != nil {
			return false, err
		}
		etag = si.ETag
	}
	faceRef, found, err := s.faceRef(ctx, it.Task)
	if err != nil || !found {
		return false, err // a missing photo: let the worker write the failure
	}
	current := layout.ResultCurrent(info.Metadata, layout.Owner(it.Task.Source), etag, faceRef)
	if current && info.Metadata[layout.MetaStatus] == result.StatusFailed {
		s.failed.Add(1)
	}
	return current, nil
}

// faceRef is the layout.FaceRef of a face-compare task's face photo as it is
// now ("" for other types), so a card paired with another or a changed
// photo is new work. found is false when the photo does not exist.
func (s *skipper) faceRef(ctx context.Context, t layout.Recognize) (ref string, found bool, err error) {
	if t.Face == "" {
		return "", true, nil
	}
	u, err := storage.ParseURI(t.Face)
	if err != nil {
		return "", false, err
	}
	fi, err := s.store.Bucket(u.Bucket).Head(ctx, u.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return layout.FaceRef(t.Face, fi.ETag), true, nil
}

// mergePage is how many result keys a resultMerge holds at once: one
// ListObjectsV2 page, so each refill costs one request.
const mergePage = 1000

// resultMerge walks the listing of an output prefix alongside the listing
// of its source prefix. Both come in key order, so whether source K has a
// result OP+K+".json" is decided by advancing one cursor: memory stays at
// one page of keys however many results exist (a map of every result key
// would grow with the output).
//
// Appending ".json" keeps key order except where one source key is a
// proper prefix of the next ("a" < "a-b" but "a-b.json" < "a.json"): the
// cursor may already have passed such a result. Targets that are not past
// every earlier target are therefore answered resultUnknown, and the HEAD
// decides.
type resultMerge struct {
	bucket storage.Bucket
	prefix string

	page  []string
	i     int
	after string // last key read: where the next page starts
	done  bool   // the listing is exhausted
	max   string // greatest target asked for so far
}

func newResultMerge(b storage.Bucket, prefix string) *resultMerge {
	return &resultMerge{bucket: b, prefix: prefix}
}

var errPageFull = errors.New("page full")

// lookup reports what the output listing says of result key target. Calls
// must come in source key order.
func (m *resultMerge) lookup(ctx context.Context, target string) (resultState, error) {
	if target <= m.max {
		return resultUnknown, nil
	}
	m.max = target
	for {
		for m.i < len(m.page) && m.page[m.i] < target {
			m.i++
		}
		if m.i < len(m.page) {
			if m.page[m.i] == target {
				return resultListed, nil
			}
			return resultAbsent, nil
		}
		if m.done {
			return resultAbsent, nil
		}
		if err := m.refill(ctx); err != nil {
			return resultUnknown, err
		}
	}
}

func (m *resultMerge) refill(ctx context.Context) error {
	m.page, m.i = m.page[:0], 0
	err := m.bucket.List(ctx, m.prefix, m.after, func(o storage.ObjectInfo) error {
		m.page = append(m.page, o.Key)
		if len(m.page) == mergePage {
			return errPageFull
		}
		return nil
	})
	switch {
	case errors.Is(err, errPageFull):
	case err != nil:
		return err
	default:
		m.done = true
	}
	if len(m.page) > 0 {
		m.after = m.page[len(m.page)-1]
	}
	return nil
}
