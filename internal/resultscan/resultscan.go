// Package resultscan reads the results an export writes, one at a time and
// in key order: every result under an output prefix, or the results of one
// batch (found through the batch's record of its outputs and sources,
// internal/batch outputs.go). Memory is bounded by one page of results
// whatever the size of the prefix or batch.
package resultscan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// pageSize is how many listed keys are decided (one Redis round trip for a
// batch) and fetched (in parallel) at a time.
const pageSize = 256

// maxResultBytes bounds one result object: results are small JSON; a huge
// object under an output prefix is not one.
const maxResultBytes = 16 << 20

// Members tells which sources belong to a batch (batch.Tracker).
type Members interface {
	Members(ctx context.Context, id string, sources []string) ([]bool, error)
}

// Scanner reads results from Store.
type Scanner struct {
	Store storage.Store
	// Parallel is the number of results fetched at once; default 8.
	Parallel int

	mu    sync.Mutex
	stats Stats
	batch string // Batch: the batch whose results are exported
}

// byName marks a candidate source that belongs to the batch only if its
// result names the batch.
const byName = "\x00"

// Stats count what a scan passed over.
type Stats struct {
	Listed     int // .json objects listed outside the _ocr/ area
	NotResults int // of those, objects that are no result (raw copies, old summaries, other files)
	OtherBatch int // objects under a batch's outputs that are not its results (other batches', other files)
}

// Stats returns the counts so far.
func (s *Scanner) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Scanner) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Prefix yields every result under the output prefix (s3://b/p/, or
// s3://b/p meaning p/), skipping the reserved _ocr/ area and every object
// whose metadata does not mark it as a result.
func (s *Scanner) Prefix(ctx context.Context, prefix string) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		out, err := layout.OutPrefix(prefix)
		if err != nil {
			yield(nil, fmt.Errorf("--prefix %s: want s3://bucket/prefix/ or file:///dir/", prefix))
			return
		}
		keep := func(context.Context, []string) ([][]string, error) { return nil, nil } // every key, any source
		s.scan(ctx, out, keep, yield)
	}
}

// Batch yields the results of batch id: under each of its outputs, the
// results whose source belongs to the batch (its outcome counted there, or
// skipped by it because its result was current). A result of a skipped
// source names the batch that made it; it is exported all the same.
func (s *Scanner) Batch(ctx context.Context, m Members, id string, outputs []batch.Output) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		s.batch = id
		// Group the source roots by output, one spelling per output.
		roots := map[string][]string{}
		var order []string
		for _, o := range outputs {
			u, err := layout.OutPrefix(o.Out)
			if err != nil {
				yield(nil, fmt.Errorf("batch %s: recorded output is not a prefix URI", id))
				return
			}
			k := u.String()
			if _, ok := roots[k]; !ok {
				order = append(order, k)
			}
			roots[k] = append(roots[k], o.Source)
		}
		for _, k := range order {
			out, _ := layout.OutPrefix(k)
			rs := roots[k]
			// For each listed result key OP K.json, the candidates are
			// root + K for each root: the sources whose result it would be.
			keep := func(ctx context.Context, keys []string) ([][]string, error) {
				cands := make([]string, 0, len(keys)*len(rs))
				for _, key := range keys {
					srcKey := strings.TrimSuffix(strings.TrimPrefix(key, out.Key), ".json")
					for _, r := range rs {
						cands = append(cands, r+srcKey)
					}
				}
				in, err := m.Members(ctx, id, cands)
				if err != nil {
					return nil, err
				}
				// Sources the batch recorded (skipped, or counted by a batch
				// started before fmt 2) are its own whatever their result
				// says; any other candidate is the batch's when its result
				// names the batch (the batch keeps no record per counted
				// source): the result must be read to know.
				want := make([][]string, len(keys))
				for i := range keys {
					for j := range rs {
						c := cands[i*len(rs)+j]
						if in[i*len(rs)+j] {
							want[i] = append(want[i], c)
						} else {
							want[i] = append(want[i], byName+c)
						}
					}
				}
				return want, nil
			}
			if !s.scan(ctx, out, keep, yield) {
				return
			}
		}
	}
}

// errStop ends a listing early: the consumer stopped, or an error was yielded.
var errStop = errors.New("stop")

// scan lists out page by page. decide gets a page of keys and returns, per
// key, the source URIs its result may belong to (none: skip the key), or
// nil to fetch every key and keep the results among them. It reports
// whether the consumer wants more.
func (s *Scanner) scan(ctx context.Context, out storage.URI, decide func(context.Context, []string) ([][]string, error),
	yield func([]byte, error) bool) bool {
	b := s.Store.Bucket(out.Bucket)
	page := make([]string, 0, pageSize)
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		want, err := decide(ctx, page)
		if err != nil {
			yield(nil, err)
			return errStop
		}
		got, err := s.fetch(ctx, b, page, want)
		if err != nil {
			yield(nil, err)
			return errStop
		}
		for _, raw := range got {
			if raw != nil && !yield(raw, nil) {
				return errStop
			}
		}
		page = page[:0]
		return nil
	}
	err := b.List(ctx, out.Key, "", func(o storage.ObjectInfo) error {
		if !strings.HasSuffix(o.Key, ".json") || layout.Reserved(o.Key) {
			return nil
		}
		s.count(func(st *Stats) { st.Listed++ })
		page = append(page, o.Key)
		if len(page) < pageSize {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	switch {
	case errors.Is(err, errStop):
		return false
	case err != nil:
		yield(nil, fmt.Errorf("list %s: %w", out, err))
		return false
	}
	return true
}

// fetch reads the results of a page in parallel and returns them in page
// order; nil entries are keys that hold no result to export.
func (s *Scanner) fetch(ctx context.Context, b storage.Bucket, keys []string, want [][]string) ([][]byte, error) {
	got := make([][]byte, len(keys))
	errs := make([]error, len(keys))
	n := s.Parallel
	if n <= 0 {
		n = 8
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var expect []string
				if want != nil {
					expect = want[i]
				}
				got[i], errs[i] = s.one(ctx, b, keys[i], want != nil, expect)
			}
		}()
	}
	for i := range keys {
		if want != nil && len(want[i]) == 0 {
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return got, errors.Join(errs...)
}

// one reads one result; its metadata must mark a result. byBatch: its
// source must be one of expect (s3://a/k and s3://b/k share a result key;
// only the owner's result is there).
func (s *Scanner) one(ctx context.Context, b storage.Bucket, key string, byBatch bool, expect []string) ([]byte, error) {
	rc, info, err := b.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil // deleted since the listing
	}
	if err != nil {
		return nil, fmt.Errorf("read a result: %w", err)
	}
	defer rc.Close()
	if !layout.IsResult(info.Metadata) {
		s.count(func(st *Stats) { st.NotResults++ })
		return nil, nil
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, maxResultBytes+1)); err != nil {
		return nil, fmt.Errorf("read a result: %w", err)
	}
	if buf.Len() > maxResultBytes {
		s.count(func(st *Stats) { st.NotResults++ })
		return nil, nil
	}
	if byBatch {
		var head struct {
			Batch  string `json:"batch"`
			Source struct {
				URI string `json:"uri"`
			} `json:"source"`
		}
		err := json.Unmarshal(buf.Bytes(), &head)
		if err != nil || !(slices.Contains(expect, head.Source.URI) ||
			(head.Batch == s.batch && s.batch != "" && slices.Contains(expect, byName+head.Source.URI))) {
			s.count(func(st *Stats) { st.OtherBatch++ })
			return nil, nil
		}
	}
	return buf.Bytes(), nil
}
