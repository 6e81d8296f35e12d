package export

// Options choose what a Writer writes.
type Options struct {
	// Type keeps only results of this document type; the others are
	// skipped and counted in Stats.Skipped. For CSV it also fixes the column
	// set; without it the first result's type does, and a result of another
	// type is an error (use NewCSVPerType for a batch of several types).
	Type string
	// Items (CSV): one row per item (receipt items, medical-receipt cells)
	// instead of one row per document. See docs/export.md.
	Items bool
	// Excel (CSV): start the file with a UTF-8 byte order mark, so Excel
	// reads Hangul as UTF-8 instead of the system code page.
	Excel bool
}

// Writer writes one export. Write takes one ocr-result/v1 object as stored;
// Close flushes (and, for NewCSVPerType, closes every file it opened). After
// an error from Write the output is incomplete and the export should stop.
type Writer interface {
	Write(result []byte) error
	Close() error
	Stats() Stats
}

// Stats count what a Writer did.
type Stats struct {
	Results int            // results written
	Rows    int            // JSONL lines or CSV rows written, header excluded
	Skipped map[string]int // results left out, by document type (Options.Type, or no item rows)
}

func (s *Stats) skip(docType string) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[docType]++
}

func (s *Stats) add(o Stats) {
	s.Results += o.Results
	s.Rows += o.Rows
	for t, n := range o.Skipped {
		if s.Skipped == nil {
			s.Skipped = map[string]int{}
		}
		s.Skipped[t] += n
	}
}
