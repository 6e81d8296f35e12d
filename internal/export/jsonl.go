package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// jsonlWriter writes each result compacted onto one line, exactly as stored
// otherwise: same keys, same order, same values.
type jsonlWriter struct {
	w     *bufio.Writer
	only  string
	buf   bytes.Buffer // reused line buffer
	n     int          // results seen, for error messages
	stats Stats
}

// NewJSONL returns a Writer of JSON Lines. Only Options.Type applies.
func NewJSONL(w io.Writer, opts Options) Writer {
	return &jsonlWriter{w: bufio.NewWriter(w), only: opts.Type}
}

func (j *jsonlWriter) Write(raw []byte) error {
	j.n++
	docType, err := documentType(raw, j.n)
	if err != nil {
		return err
	}
	if j.only != "" && docType != j.only {
		j.stats.skip(docType)
		return nil
	}
	j.buf.Reset()
	if err := json.Compact(&j.buf, raw); err != nil {
		return fmt.Errorf("export: result %d: %w", j.n, err)
	}
	j.buf.WriteByte('\n')
	if _, err := j.w.Write(j.buf.Bytes()); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	j.stats.Results++
	j.stats.Rows++
	return nil
}

func (j *jsonlWriter) Close() error {
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	return nil
}

func (j *jsonlWriter) Stats() Stats { return j.stats }
