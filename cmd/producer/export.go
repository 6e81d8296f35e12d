package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/cli"
	"github.com/ocrbatch/ocrworker/internal/export"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/resultscan"
	"github.com/ocrbatch/ocrworker/internal/setup"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

const exportUsage = `usage: producer export (BATCH | --prefix URI) [--format jsonl|csv] [--type T] [--items] [--excel] [--to URI]`

// exportFlags are the export command's flags.
type exportFlags struct {
	prefix, format, docType, to string
	items, excel                bool
}

// runExport streams the results of a batch, or of every source under an
// output prefix, as JSONL or CSV to stdout or to an object (docs/export.md).
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		g  cli.Globals
		f  exportFlags
		fs = flag.NewFlagSet("export", flag.ContinueOnError)
	)
	fs.StringVar(&f.prefix, "prefix", "", "export every result under this output prefix s3://BUCKET/PREFIX/ instead of a batch")
	fs.StringVar(&f.format, "format", "jsonl", "jsonl or csv")
	fs.StringVar(&f.docType, "type", "", "only results of this document type (CSV: the column set)")
	fs.BoolVar(&f.items, "items", false, "CSV: one row per item (receipt items, medical-receipt cells)")
	fs.BoolVar(&f.excel, "excel", false, "CSV: start with a UTF-8 byte order mark, so Excel shows Hangul")
	fs.StringVar(&f.to, "to", "", "write to this object (s3://B/K or file:///path) or, ending in /, one file per type under it; default stdout")
	pos, err := parse(fs, &g, args, stdout, exportUsage, 0, 1)
	if err != nil {
		return err
	}
	id := ""
	if len(pos) == 1 {
		id = pos[0]
	}
	if err := f.check(id); err != nil {
		return err
	}
	e, err := load(g, stderr)
	if err != nil {
		return err
	}
	store, err := setup.Store(ctx, e.cfg)
	if err != nil {
		return err
	}
	// Again with the configured storage.fileRoot, which setup.Store made
	// the process's: a file:// URI outside it is bad usage too.
	if err := f.checkURIs(); err != nil {
		return err
	}
	scan := &resultscan.Scanner{Store: store}
	var (
		results iter.Seq2[[]byte, error]
		st      batch.Status
	)
	if id != "" {
		if results, st, err = batchResults(ctx, e, scan, id, stderr); err != nil {
			return err
		}
	} else {
		results = scan.Prefix(ctx, f.prefix)
	}
	var dest uploads
	w, err := f.writer(ctx, store, id, stdout, &dest)
	if err != nil {
		return err
	}
	err = export.Copy(w, results)
	if err != nil {
		dest.abort(err) // an incomplete export must not be stored
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	report(stderr, w.Stats(), scan.Stats(), id, st)
	return nil
}

// check validates the flags before anything is read: bad usage exits 2.
func (f *exportFlags) check(id string) error {
	switch {
	case id == "" && f.prefix == "":
		return cli.Usagef("export needs a BATCH or --prefix URI\n%s", exportUsage)
	case id != "" && f.prefix != "":
		return cli.Usagef("export takes a BATCH or --prefix, not both\n%s", exportUsage)
	}
	if id != "" {
		if err := layout.CheckBatchID(id); err != nil {
			return cli.Usagef("%v", err)
		}
	}
	if err := f.checkURIs(); err != nil {
		return err
	}
	switch f.format {
	case "jsonl", "csv":
	default:
		return cli.Usagef("--format %q: want jsonl or csv", f.format)
	}
	if f.format != "csv" && (f.items || f.excel) {
		return cli.Usagef("--items and --excel are for --format csv")
	}
	if f.docType != "" && !result.KnownType(f.docType) {
		return cli.Usagef("--type %q: unknown document type (want one of %s)", f.docType, strings.Join(result.DocumentTypes, ", "))
	}
	if f.items && f.docType != "" && !export.HasItems(f.docType) {
		return cli.Usagef("--items: %s results have no item rows (items: receipt, medical-receipt)", f.docType)
	}
	return nil
}

// checkURIs checks --prefix and --to as the process's file root cuts them
// (before the configuration is loaded: "/").
func (f *exportFlags) checkURIs() error {
	if f.prefix != "" {
		if _, err := layout.OutPrefix(f.prefix); err != nil {
			return cli.Usagef("--prefix %q: want an output prefix s3://BUCKET/PREFIX/ or file:///DIR/", f.prefix)
		}
	}
	if f.to != "" {
		if _, err := storage.ParseURI(f.to); err != nil {
			return cli.Usagef("--to: %v", err)
		}
	}
	return nil
}

// batchResults finds where batch id's results lie.
func batchResults(ctx context.Context, e *env, scan *resultscan.Scanner, id string, stderr io.Writer) (iter.Seq2[[]byte, error], batch.Status, error) {
	tr := e.tracker()
	st, err := tr.Get(ctx, id)
	if errors.Is(err, batch.ErrNotFound) {
		return nil, st, fmt.Errorf("batch %s is not known (its record expires batches.retention after it finishes): export its output with --prefix", id)
	}
	if err != nil {
		return nil, st, err
	}
	outs, err := tr.Outputs(ctx, id)
	if errors.Is(err, batch.ErrTooManyOutputs) {
		return nil, st, fmt.Errorf("%w: export each output with --prefix", err)
	}
	if err != nil {
		return nil, st, err
	}
	if len(outs) == 0 {
		return nil, st, fmt.Errorf("batch %s has no recorded output (enqueued before export existed, or nothing was enqueued): export its output with --prefix", id)
	}
	if !st.Done {
		fmt.Fprintf(stderr, "batch %s is still running (%d of %d have an outcome): exporting the results so far\n", id, st.Counted(), st.Total)
	}
	return scan.Batch(ctx, tr, id, outs), st, nil
}

// writer opens the export's destination: stdout, one object, or one object
// per document type under a prefix.
func (f *exportFlags) writer(ctx context.Context, store storage.Store, id string, stdout io.Writer, dest *uploads) (export.Writer, error) {
	opts := export.Options{Type: f.docType, Items: f.items, Excel: f.excel}
	if f.to == "" {
		out := &flushOnClose{bufio.NewWriterSize(stdout, 64<<10)}
		if f.format == "jsonl" {
			return closing(export.NewJSONL(out, opts), out), nil
		}
		w, err := export.NewCSV(out, opts)
		if err != nil {
			return nil, cli.Usagef("%v", err)
		}
		return closing(w, out), nil
	}
	to, _ := storage.ParseURI(f.to)
	bucket := store.Bucket(to.Bucket)
	switch {
	case f.format == "jsonl":
		key := to.Key
		if to.IsPrefix() {
			name := id
			if name == "" {
				name = "export"
			}
			key += name + ".jsonl"
		}
		sink := dest.open(ctx, bucket, key, "application/x-ndjson")
		return closing(export.NewJSONL(sink, opts), sink), nil
	case to.IsPrefix():
		return export.NewCSVPerType(func(docType string) (io.WriteCloser, error) {
			return dest.open(ctx, bucket, to.Key+export.FileName(docType, f.items), "text/csv; charset=utf-8"), nil
		}, opts), nil
	default:
		w, err := export.NewCSV(io.Discard, opts) // checks opts before an upload starts
		if err != nil {
			return nil, cli.Usagef("%v", err)
		}
		sink := dest.open(ctx, bucket, to.Key, "text/csv; charset=utf-8")
		w, _ = export.NewCSV(sink, opts)
		return closing(w, sink), nil
	}
}

// report tells on stderr what was exported (stdout holds only the export).
func report(stderr io.Writer, ws export.Stats, ss resultscan.Stats, id string, st batch.Status) {
	fmt.Fprintf(stderr, "exported %d results (%d rows)", ws.Results, ws.Rows)
	if len(ws.Skipped) > 0 {
		types := make([]string, 0, len(ws.Skipped))
		for t := range ws.Skipped {
			types = append(types, t)
		}
		sort.Strings(types)
		parts := make([]string, len(types))
		for i, t := range types {
			parts[i] = fmt.Sprintf("%s %d", t, ws.Skipped[t])
		}
		fmt.Fprintf(stderr, "; left out by type: %s", strings.Join(parts, ", "))
	}
	if ss.NotResults > 0 {
		fmt.Fprintf(stderr, "; %d objects under the prefix are no results", ss.NotResults)
	}
	fmt.Fprintln(stderr)
	if id != "" {
		if missing := st.Counted() - int64(ws.Results) - sum(ws.Skipped); missing > 0 {
			fmt.Fprintf(stderr, "%d sources of batch %s have no result object (an outcome that could not be written: see 'producer status %s' and the batch summary)\n",
				missing, id, id)
		}
	}
}

func sum(m map[string]int) int64 {
	var n int64
	for _, v := range m {
		n += int64(v)
	}
	return n
}

// closing closes sink after the writer has flushed into it.
func closing(w export.Writer, sink io.Closer) export.Writer { return &closingWriter{w, sink} }

type closingWriter struct {
	export.Writer
	sink io.Closer
}

func (c *closingWriter) Close() error {
	err := c.Writer.Close()
	if u, ok := c.sink.(*upload); ok && err != nil {
		u.abort(err) // an incomplete export must not be stored
		return err
	}
	if cerr := c.sink.Close(); err == nil {
		err = cerr
	}
	return err
}

type flushOnClose struct{ *bufio.Writer }

func (f *flushOnClose) Close() error { return f.Flush() }

// uploads are the objects an export writes.
type uploads []*upload

func (us *uploads) open(ctx context.Context, b storage.Bucket, key, contentType string) *upload {
	u := newUpload(ctx, b, key, contentType)
	*us = append(*us, u)
	return u
}

func (us uploads) abort(cause error) {
	for _, u := range us {
		u.abort(cause)
	}
}

// upload streams what is written into one object: Put reads the other end
// of a pipe (and, with an unknown size, spools it to a temporary file, not
// to memory). Close waits for the Put; abort makes it fail, so a broken
// export leaves no object behind.
type upload struct {
	pw   *io.PipeWriter
	done chan struct{}
	err  error // of the Put, once done is closed
}

func newUpload(ctx context.Context, b storage.Bucket, key, contentType string) *upload {
	pr, pw := io.Pipe()
	u := &upload{pw: pw, done: make(chan struct{})}
	go func() {
		_, u.err = b.Put(ctx, key, pr, -1, storage.PutOptions{ContentType: contentType})
		pr.CloseWithError(u.err) // unblock the writer if Put gave up early
		close(u.done)
	}()
	return u
}

func (u *upload) Write(p []byte) (int, error) { return u.pw.Write(p) }

func (u *upload) Close() error {
	u.pw.Close()
	<-u.done
	if u.err != nil {
		return fmt.Errorf("write the export: %w", u.err)
	}
	return nil
}

func (u *upload) abort(cause error) {
	u.pw.CloseWithError(cause)
	<-u.done
}
