package export

import (
	"errors"
	"fmt"
	"io"
	"sort"
)

// OpenFunc opens the sink of one document type's CSV, for example the
// object <prefix><FileName(docType, items)>. The Writer closes it.
type OpenFunc func(docType string) (io.WriteCloser, error)

// FileName is the conventional name of a type's CSV under a prefix:
// "receipt.csv", or "receipt-items.csv" for item rows.
func FileName(docType string, items bool) string {
	if items {
		return docType + "-items.csv"
	}
	return docType + ".csv"
}

// perType routes each result to the CSV of its type, opening sinks on first
// use, so a batch of several types exports in one pass.
type perType struct {
	open    OpenFunc
	opts    Options
	writers map[string]*csvWriter
	sinks   map[string]io.WriteCloser
	n       int
	skipped Stats
}

// NewCSVPerType returns a Writer that writes one CSV per document type,
// each into a sink open returns. Options apply to every type; with Items,
// results of types without item rows are skipped (Stats.Skipped).
func NewCSVPerType(open OpenFunc, opts Options) Writer {
	return &perType{open: open, opts: opts, writers: map[string]*csvWriter{}, sinks: map[string]io.WriteCloser{}}
}

func (p *perType) Write(raw []byte) error {
	p.n++
	docType, err := documentType(raw, p.n)
	if err != nil {
		return err
	}
	if (p.opts.Type != "" && docType != p.opts.Type) || (p.opts.Items && !HasItems(docType)) {
		p.skipped.skip(docType)
		return nil
	}
	w, err := p.writer(docType)
	if err != nil {
		return err
	}
	w.n = p.n - 1 // so its errors name the position in the whole stream
	return w.Write(raw)
}

func (p *perType) writer(docType string) (*csvWriter, error) {
	if w := p.writers[docType]; w != nil {
		return w, nil
	}
	if _, ok := layouts[docType]; !ok {
		return nil, fmt.Errorf("export: result %d: unknown document type %q", p.n, docType)
	}
	sink, err := p.open(docType)
	if err != nil {
		return nil, fmt.Errorf("export: open the %s CSV: %w", docType, err)
	}
	opts := p.opts
	opts.Type = docType
	w, err := NewCSV(sink, opts)
	if err != nil {
		sink.Close()
		return nil, err
	}
	p.writers[docType], p.sinks[docType] = w.(*csvWriter), sink
	return p.writers[docType], nil
}

// Close flushes and closes every sink, in type order, and reports every
// error: a sink whose Close fails (an upload that did not complete) must
// not pass for a written file.
func (p *perType) Close() error {
	var errs []error
	for _, t := range p.Types() {
		if err := p.writers[t].Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s CSV: %w", t, err))
		}
		if err := p.sinks[t].Close(); err != nil {
			errs = append(errs, fmt.Errorf("export: close the %s CSV: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// Types lists the document types a CSV was opened for, sorted.
func (p *perType) Types() []string {
	types := make([]string, 0, len(p.writers))
	for t := range p.writers {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

func (p *perType) Stats() Stats {
	s := Stats{}
	s.add(p.skipped)
	for _, w := range p.writers {
		s.add(w.stats)
	}
	return s
}
