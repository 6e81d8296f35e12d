package config

import (
	"fmt"
	"sort"

	"github.com/ocrbatch/ocrworker/internal/imageformat"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// Values of types.<type>.pages.
const (
	// PagesEach reads every page of a multi-page source as its own
	// document (a stack of scanned receipts).
	PagesEach = "each"
	// PagesFirst reads page 1 only (a business license whose page 2 is its
	// back side); the result records the page count.
	PagesFirst = "first"
)

// Defaults of the page and conversion settings.
const (
	TypePagesDefault    = PagesEach
	TypeMaxPagesDefault = 50
	// WorkerMaxSourceBytesDefault bounds a source that is spooled to a temp
	// file (multi-page PDF and TIFF, images that are converted).
	WorkerMaxSourceBytesDefault = 256 << 20
	// WorkerDecodeBudgetDefault bounds the decoded pixels all conversions
	// of a worker hold at once.
	WorkerDecodeBudgetDefault = 512 << 20
	// WorkerMaxPixelsDefault refuses larger images (decompression bombs)
	// before they are decoded.
	WorkerMaxPixelsDefault = 100_000_000
)

// MaxPagesLimit is the largest types.<type>.maxPages: a TIFF of more
// directories is not read at all (imageformat.MaxTIFFPages).
const MaxPagesLimit = imageformat.MaxTIFFPages

// Type is the configuration of one document type (types.<type>).
type Type struct {
	// Pages: each (default) or first, see PagesEach and PagesFirst.
	Pages string `yaml:"pages"`
	// MaxPages: a source of more pages fails as too_many_pages before any
	// vendor call. Default 50.
	MaxPages int `yaml:"maxPages"`
}

// TypeFor is the page policy of a document type, defaults filled in for a
// type the file does not name.
func (c *Config) TypeFor(docType string) Type {
	t := Type{Pages: TypePagesDefault, MaxPages: TypeMaxPagesDefault}
	if c == nil {
		return t
	}
	if ct := c.Types[docType]; ct != nil {
		if ct.Pages != "" {
			t.Pages = ct.Pages
		}
		if ct.MaxPages != 0 {
			t.MaxPages = ct.MaxPages
		}
	}
	return t
}

// PageLimits are the worker's bounds on sources, pages and conversions
// (worker.maxSourceBytes, decodeBudget, maxPixels), defaults filled in
// where a Config was built without Parse (tests).
func (c *Config) PageLimits() (maxSourceBytes, decodeBudget, maxPixels int64) {
	w := Worker{}
	if c != nil {
		w = c.Worker
	}
	return orDefault(w.MaxSourceBytes, WorkerMaxSourceBytesDefault), orDefault(w.DecodeBudget, WorkerDecodeBudgetDefault),
		orDefault(w.MaxPixels, WorkerMaxPixelsDefault)
}

func orDefault(v, d int64) int64 {
	if v == 0 {
		return d
	}
	return v
}

func (c *Config) setPageDefaults() {
	w := &c.Worker
	w.MaxSourceBytes, w.DecodeBudget, w.MaxPixels = c.PageLimits()
	for name, t := range c.Types {
		if t == nil {
			continue // validatePages reports it
		}
		*t = c.TypeFor(name)
	}
}

func (c *Config) validatePages() error {
	names := make([]string, 0, len(c.Types))
	for name := range c.Types {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := c.Types[name]
		k := "types." + name
		switch {
		case !result.KnownType(name):
			return &Error{Key: k, Msg: fmt.Sprintf("unknown document type %q", name)}
		case t == nil:
			return &Error{Key: k, Msg: "missing (want {pages: each|first, maxPages: N})"}
		case t.Pages != PagesEach && t.Pages != PagesFirst:
			return &Error{Key: k + ".pages", Msg: fmt.Sprintf("%q: want each or first", t.Pages)}
		case t.MaxPages < 1 || t.MaxPages > MaxPagesLimit:
			return &Error{Key: k + ".maxPages", Msg: fmt.Sprintf("%d: want 1 to %d", t.MaxPages, MaxPagesLimit)}
		}
	}
	w := c.Worker
	switch {
	case w.MaxSourceBytes < 0:
		return &Error{Key: "worker.maxSourceBytes", Msg: "must be > 0"}
	case w.MaxSourceBytes < w.MaxImageBytes:
		return &Error{Key: "worker.maxSourceBytes", Msg: fmt.Sprintf("%d is below worker.maxImageBytes (%d): a source may not be smaller than one page",
			w.MaxSourceBytes, w.MaxImageBytes)}
	case w.DecodeBudget < 0:
		return &Error{Key: "worker.decodeBudget", Msg: "must be > 0"}
	case w.MaxPixels < 0:
		return &Error{Key: "worker.maxPixels", Msg: "must be > 0"}
	}
	return nil
}
