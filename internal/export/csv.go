package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// bom is the UTF-8 byte order mark Excel needs to read a CSV as UTF-8.
const bom = "\uFEFF"

// csvWriter writes the rows of one document type.
type csvWriter struct {
	out     io.Writer
	cw      *csv.Writer
	opts    Options
	docType string // "" until the first result fixes it
	layout  *layout
	header  bool
	n       int // results seen, for error messages
	stats   Stats

	cells []cell   // reused per row
	line  []string // reused per row
}

// NewCSV returns a Writer of one document type's rows: the type is
// Options.Type or, without it, the first result's. Unknown types and
// Items for a type without item rows are errors.
func NewCSV(w io.Writer, opts Options) (Writer, error) {
	c := &csvWriter{out: w, cw: csv.NewWriter(w), opts: opts}
	if opts.Type != "" {
		if err := c.fix(opts.Type); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// fix sets the column set.
func (c *csvWriter) fix(docType string) error {
	l := layouts[docType]
	if l == nil {
		return fmt.Errorf("export: unknown document type %q", docType)
	}
	if c.opts.Items && l.items == nil {
		return fmt.Errorf("export: %s results have no item rows (items: receipt, medical-receipt)", docType)
	}
	c.docType, c.layout = docType, l
	return nil
}

func (c *csvWriter) Write(raw []byte) error {
	c.n++
	r, err := decodeRecord(raw, c.n)
	if err != nil {
		return err
	}
	if c.opts.Type != "" && r.DocumentType != c.opts.Type {
		c.stats.skip(r.DocumentType)
		return nil
	}
	if c.docType == "" {
		if err := c.fix(r.DocumentType); err != nil {
			return err
		}
	}
	if r.DocumentType != c.docType {
		return fmt.Errorf("export: result %d is a %s result, this CSV holds %s: choose one type (--type) or write one CSV per type",
			c.n, r.DocumentType, c.docType)
	}
	if err := c.writeHeader(); err != nil {
		return err
	}
	if err := c.writeResult(r); err != nil {
		return fmt.Errorf("export: result %d: %w", c.n, err)
	}
	c.stats.Results++
	return nil
}

// writeResult writes one row per page (or one for a single-page source),
// or in Items mode one row per item of each page.
func (c *csvWriter) writeResult(r *record) error {
	if len(r.Pages) == 0 {
		return c.writePage(r, "", r.Status, r.Error.code(), r.Fields)
	}
	for _, p := range r.Pages {
		if err := c.writePage(r, strconv.Itoa(p.Page), p.Status, p.Error.code(), p.Fields); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvWriter) writePage(r *record, pageNo, status, code string, fields []byte) error {
	common := func() {
		c.cells = append(c.cells[:0], text(r.Source.URI), cell{s: pageNo, numeric: true}, text(status), text(code))
		if c.docType == result.TypeFaceCompare {
			face := ""
			if r.FaceSource != nil {
				face = r.FaceSource.URI
			}
			c.cells = append(c.cells, text(face))
		}
	}
	if !c.opts.Items {
		common()
		var err error
		if c.cells, err = c.layout.row(fields, c.cells); err != nil {
			return err
		}
		return c.writeRow()
	}
	items := 0
	err := c.layout.items.rows(fields, func(item []cell) error {
		items++
		common()
		c.cells = append(c.cells, integer(items))
		c.cells = append(c.cells, item...)
		return c.writeRow()
	})
	if err != nil || items > 0 {
		return err
	}
	// A document without items (or failed) still gets its row, so every
	// source of the batch is in the export.
	common()
	for range len(c.layout.items.columns) + 1 {
		c.cells = append(c.cells, cell{})
	}
	return c.writeRow()
}

func (c *csvWriter) writeRow() error {
	c.line = c.line[:0]
	for _, v := range c.cells {
		c.line = append(c.line, escape(v))
	}
	if err := c.cw.Write(c.line); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	c.stats.Rows++
	return nil
}

func (c *csvWriter) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	if c.opts.Excel {
		if _, err := io.WriteString(c.out, bom); err != nil {
			return fmt.Errorf("export: write: %w", err)
		}
	}
	cols, _ := Columns(c.docType, c.opts.Items)
	if err := c.cw.Write(cols); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	return nil
}

// Close writes the header if no result came (a CSV of a known type is never
// empty) and flushes.
func (c *csvWriter) Close() error {
	if c.docType != "" {
		if err := c.writeHeader(); err != nil {
			return err
		}
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	return nil
}

func (c *csvWriter) Stats() Stats { return c.stats }
