package export

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// record is the part of a result an export reads. fields stay raw until the
// type's column set decodes them, so one struct serves every type.
type record struct {
	Schema       string                `json:"schema"`
	Status       string                `json:"status"`
	DocumentType string                `json:"documentType"`
	Source       struct{ URI string }  `json:"source"`
	FaceSource   *struct{ URI string } `json:"faceSource"`
	Fields       json.RawMessage       `json:"fields"`
	Error        *errorCode            `json:"error"`
	Pages        []page                `json:"pages"`
}

// page is one entry of a multi-page result's "pages" (result-v1.md Pages).
type page struct {
	Page   int             `json:"page"`
	Status string          `json:"status"`
	Fields json.RawMessage `json:"fields"`
	Error  *errorCode      `json:"error"`
}

type errorCode struct {
	Code string `json:"code"`
}

func (e *errorCode) code() string {
	if e == nil {
		return ""
	}
	return e.Code
}

// decodeRecord reads one result. n is its 1-based position in the stream;
// errors name the position, never the source URI (an object key may hold a
// person's name).
func decodeRecord(raw []byte, n int) (*record, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("export: result %d: not a result object: %w", n, err)
	}
	if r.Schema != result.Schema {
		return nil, fmt.Errorf("export: result %d: schema %q, want %q", n, r.Schema, result.Schema)
	}
	if !result.KnownType(r.DocumentType) {
		return nil, fmt.Errorf("export: result %d: unknown document type %q", n, r.DocumentType)
	}
	return &r, nil
}

// decodeFields decodes a fields object into v, keeping numbers as
// json.Number so a cell prints the number exactly as stored. A null or
// missing fields object leaves v zero.
func decodeFields(raw json.RawMessage, v any) error {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// documentType reads only a result's type and schema (the JSONL path needs
// no more).
func documentType(raw []byte, n int) (string, error) {
	var h struct {
		Schema       string `json:"schema"`
		DocumentType string `json:"documentType"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("export: result %d: not a result object: %w", n, err)
	}
	if h.Schema != result.Schema {
		return "", fmt.Errorf("export: result %d: schema %q, want %q", n, h.Schema, result.Schema)
	}
	return h.DocumentType, nil
}
