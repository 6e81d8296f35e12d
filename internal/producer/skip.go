package producer

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/tasks"
)

// skipper decides whether a source already has a current result (same
// source ETag). For listed sources it lists the matching output prefix once,
// so a fresh prefix of 100,000 objects costs one listing, not 100,000 HEADs;
// only results that exist are HEADed to compare ETags.
type skipper struct {
	store storage.Store
	mu    sync.Mutex
	// listed: output "bucket/prefix" -> set of result keys under it.
	listed map[string]*listing
}

type listing struct {
	once sync.Once
	keys map[string]struct{}
	err  error
}

func newSkipper(s storage.Store) *skipper {
	return &skipper{store: s, listed: map[string]*listing{}}
}

func (s *skipper) current(ctx context.Context, it Item) (bool, error) {
	src, err := storage.ParseURI(it.Task.Source)
	if err != nil {
		return false, err
	}
	out, err := tasks.OutPrefix(it.Task.Out)
	if err != nil {
		return false, err
	}
	rkey := tasks.ResultKey(out, src.Key)
	if it.Known {
		// Listed source: consult one listing of the matching output prefix.
		l := s.listing(ctx, out.Bucket, out.Key+it.Prefix)
		if l.err != nil {
			return false, l.err
		}
		if _, ok := l.keys[rkey]; !ok {
			return false, nil
		}
	}
	ob := s.store.Bucket(out.Bucket)
	info, err := ob.Head(ctx, rkey)
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
	return info.Metadata[tasks.MetaSourceETag] == etag, nil
}

func (s *skipper) listing(ctx context.Context, bucket, prefix string) *listing {
	s.mu.Lock()
	l, ok := s.listed[bucket+"/"+prefix]
	if !ok {
		l = &listing{}
		s.listed[bucket+"/"+prefix] = l
	}
	s.mu.Unlock()
	l.once.Do(func() {
		l.keys = map[string]struct{}{}
		l.err = s.store.Bucket(bucket).List(ctx, prefix, "", func(o storage.ObjectInfo) error {
			if strings.HasSuffix(o.Key, ".json") {
				l.keys[o.Key] = struct{}{}
			}
			return nil
		})
	})
	return l
}
