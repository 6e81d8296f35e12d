// Package tasks holds the asynq task types, their versioned payloads, their
// constructors and their handlers. Payloads carry object references only:
// never image bytes, personal data or secrets.
package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/batch"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// Task type names. The payload carries its own version (V), so a type name
// never changes meaning: a new incompatible payload gets a new V.
const (
	TypeRecognize = "ocr:recognize"
	TypeScan      = "ocr:scan"
)

// PayloadVersion is the version of Recognize and Scan payloads this build writes and reads.
const PayloadVersion = 1

// Recognize asks a worker to read one source (or one face-compare pair).
type Recognize struct {
	V      int    `json:"v"`
	Source string `json:"source"`         // s3://bucket/key (for face-compare: the ID card)
	Face   string `json:"face,omitempty"` // face-compare: s3://bucket/key of the face photo
	Type   string `json:"type"`           // document type
	Vendor string `json:"vendor,omitempty"`
	Out    string `json:"out"` // s3://bucket/prefix/
	Batch  string `json:"batch,omitempty"`
	Verify bool   `json:"verify,omitempty"`
	Force  bool   `json:"force,omitempty"` // re-read even if a result exists for the same ETag
	// PII asks for whole personal numbers; honoured only where the vendor's
	// configuration says pii: per-task (a flag, never personal data).
	PII bool `json:"pii,omitempty"`
}

// Scan asks a worker to page through a prefix and enqueue every object
// that has no result yet (scheduled backfills).
type Scan struct {
	V      int    `json:"v"`
	Source string `json:"source"` // s3://bucket/prefix/
	Type   string `json:"type"`
	Vendor string `json:"vendor,omitempty"`
	Out    string `json:"out"`
	Queue  string `json:"queue"` // the queue the found objects go to
	Batch  string `json:"batch,omitempty"`
}

// Validate checks a payload's shape; it does not look anything up. Its
// errors name the field, never its value: they are logged and kept as
// asynq's last error, and object keys may hold names and numbers.
func (p *Recognize) Validate() error {
	if p.V != PayloadVersion {
		return fmt.Errorf("payload version %d, this worker reads %d", p.V, PayloadVersion)
	}
	src, err := storage.ParseURI(p.Source)
	if err != nil {
		return errors.New("source: not an s3://bucket/key URI")
	}
	if src.IsPrefix() {
		return errors.New("source is a prefix, not an object")
	}
	if _, err := OutPrefix(p.Out); err != nil {
		return err
	}
	if p.Type == result.TypeFaceCompare {
		f, err := storage.ParseURI(p.Face)
		if err != nil || f.IsPrefix() {
			return errors.New("face-compare needs a face image object (s3://bucket/key)")
		}
	}
	if p.Batch != "" {
		if err := batch.CheckID(p.Batch); err != nil {
			return err
		}
	}
	return nil
}

// OutPrefix parses an output location, which must be a prefix. Its error
// names no value (see Validate).
func OutPrefix(out string) (storage.URI, error) {
	u, err := storage.ParseURI(out)
	if err != nil {
		return u, errors.New("out: not an s3://bucket/prefix/ URI")
	}
	if !u.IsPrefix() {
		u.Key += "/" // s3://b/results means the prefix results/
	}
	return u, nil
}

// TaskID is deterministic: the same source, type, face, vendor and output
// give the same ID, so asynq refuses a second copy while the first exists.
func (p *Recognize) TaskID() string {
	out, _ := OutPrefix(p.Out)
	h := sha256.New()
	for _, s := range []string{p.Source, p.Face, p.Type, p.Vendor, out.String()} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "ocr-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// NewRecognizeTask builds the asynq task for p.
func NewRecognizeTask(p Recognize, opts ...asynq.Option) (*asynq.Task, error) {
	p.V = PayloadVersion
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeRecognize, b, append([]asynq.Option{asynq.TaskID(p.TaskID())}, opts...)...), nil
}

// NewScanTask builds the asynq task for s. Its ID is unique per schedule slot
// (slot), so several scheduler replicas never enqueue one slot twice.
func NewScanTask(s Scan, slot string, opts ...asynq.Option) (*asynq.Task, error) {
	s.V = PayloadVersion
	if _, err := storage.ParseURI(s.Source); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if _, err := OutPrefix(s.Out); err != nil {
		return nil, err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(s.Source + "\x00" + s.Type + "\x00" + s.Out + "\x00" + slot))
	id := "scan-" + hex.EncodeToString(h[:])[:32]
	return asynq.NewTask(TypeScan, b, append([]asynq.Option{asynq.TaskID(id)}, opts...)...), nil
}

// decodeRecognize reads a payload. Unknown fields are tolerated (a newer
// producer may add optional ones); a wrong version is not.
func decodeRecognize(b []byte) (Recognize, error) {
	var p Recognize
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("payload is not valid JSON: %w", err)
	}
	return p, p.Validate()
}
