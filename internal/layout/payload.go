package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// The task payloads: what a producer enqueues and a worker reads. They are
// a wire format shared by every version in a rolling deploy (golden_test.go
// pins them). Payloads carry object references only: never image bytes,
// personal data or secrets.

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

// Scan asks a worker to page through a prefix (or a stored manifest,
// "@s3://b/manifest.jsonl") and enqueue every object that has no result yet
// (scheduled backfills, `producer enqueue --scan`). With a batch the scan is
// windowed: each step is its own task (Step), lists on from the batch's
// durable cursor while the window allows, and enqueues the next step.
type Scan struct {
	V      int    `json:"v"`
	Source string `json:"source"` // s3://bucket/prefix/ or @s3://bucket/manifest.jsonl
	Type   string `json:"type"`
	Vendor string `json:"vendor,omitempty"`
	Out    string `json:"out"`
	Queue  string `json:"queue"` // the queue the found objects go to
	Batch  string `json:"batch,omitempty"`
	Step   int64  `json:"step,omitempty"`  // windowed scans: which step this task runs
	Force  bool   `json:"force,omitempty"` // enqueue --scan --force
	Verify bool   `json:"verify,omitempty"`
	PII    bool   `json:"pii,omitempty"`
	Face   string `json:"face,omitempty"`
}

// ID names a scan within its batch: the same source, type, vendor and
// output scan the same objects.
func (s Scan) ID() string {
	h := sha256.Sum256([]byte(s.Source + "\x00" + s.Type + "\x00" + s.Vendor + "\x00" + s.Out))
	return hex.EncodeToString(h[:8])
}

// NewScanStepTask builds the task of step s.Step of a windowed scan: its ID
// is unique per batch, scan and step, so a step that is enqueued twice (a
// worker died after enqueueing it) runs once.
func NewScanStepTask(s Scan, opts ...asynq.Option) (*asynq.Task, error) {
	s.V = PayloadVersion
	if s.Batch == "" {
		return nil, errors.New("a windowed scan needs a batch")
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	id := "scan-" + s.Batch + "-" + s.ID() + "-" + strconv.FormatInt(s.Step, 10)
	return asynq.NewTask(TypeScan, b, append([]asynq.Option{asynq.TaskID(id)}, opts...)...), nil
}

// Doc is a Recognize payload with its locations parsed, once: everything
// downstream (keys, owner, bucket checks) reads these.
type Doc struct {
	Recognize
	Src     storage.URI // the source object (face-compare: the ID card)
	FaceSrc storage.URI // face-compare: the face photo; zero otherwise
	Dest    storage.URI // the output prefix, its key ending in "/"
}

// ResultKey is where this document's result goes.
func (d Doc) ResultKey() string { return ResultKey(d.Dest.Key, d.Src.Key) }

// RawKey is where its raw vendor answer goes (keepRaw).
func (d Doc) RawKey() string { return RawKey(d.Dest.Key, d.Src.Key) }

// Owner is its source's Owner, as written into its result's metadata.
func (d Doc) Owner() string { return Owner(d.Source) }

// Writable reports whether a result can be written for it, valid or not:
// its source is an object and its output a location.
func (d Doc) Writable() bool { return d.Src.Bucket != "" && !d.Src.IsPrefix() && d.Dest.Bucket != "" }

// Parse checks a payload's shape and parses its locations; it looks
// nothing up. The locations that parse are filled in even when an error is
// returned, so a worker can still write the failure where it belongs. Its
// errors name the field, never its value: they are logged and kept as
// asynq's last error, and object keys may hold names and numbers.
func (p Recognize) Parse() (Doc, error) {
	d := Doc{Recognize: p}
	var srcErr, outErr, faceErr error
	if u, err := storage.ParseURI(p.Source); err != nil {
		srcErr = errors.New("source: not an s3://bucket/key URI")
	} else if u.IsPrefix() {
		srcErr = errors.New("source is a prefix, not an object")
	} else {
		d.Src = u
	}
	d.Dest, outErr = OutPrefix(p.Out)
	if outErr != nil {
		d.Dest = storage.URI{}
	}
	if p.Type == result.TypeFaceCompare {
		f, err := storage.ParseURI(p.Face)
		if err != nil || f.IsPrefix() {
			faceErr = errors.New("face-compare needs a face image object (s3://bucket/key)")
		} else {
			d.FaceSrc = f
		}
	}
	var batchErr error
	if p.Batch != "" {
		batchErr = CheckBatchID(p.Batch)
	}
	if p.V != PayloadVersion {
		return d, fmt.Errorf("payload version %d, this worker reads %d", p.V, PayloadVersion)
	}
	return d, firstErr(srcErr, outErr, faceErr, batchErr)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// OutPrefix parses an output location, which must be a prefix. Its error
// names no value (see Parse).
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
	if _, err := p.Parse(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeRecognize, b, append([]asynq.Option{asynq.TaskID(p.TaskID())}, opts...)...), nil
}

// DecodeRecognize reads a payload once. Unknown fields are tolerated (a
// newer producer may add optional ones); a wrong version is not. On error
// the Doc holds what could be read (see Parse).
func DecodeRecognize(b []byte) (Doc, error) {
	var p Recognize
	if err := json.Unmarshal(b, &p); err != nil {
		return Doc{Recognize: p}, fmt.Errorf("payload is not valid JSON: %w", err)
	}
	return p.Parse()
}

// NewScanTask builds the asynq task for s. Its ID is unique per schedule slot
// (slot), so several scheduler replicas never enqueue one slot twice.
func NewScanTask(s Scan, slot string, opts ...asynq.Option) (*asynq.Task, error) {
	s.V = PayloadVersion
	if _, err := storage.ParseURI(strings.TrimPrefix(s.Source, "@")); err != nil {
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

// DecodeScan reads a scan payload: its version must be this build's and
// its batch, if any, a valid batch ID (else none of its tasks could be counted).
func DecodeScan(b []byte) (Scan, error) {
	var s Scan
	if err := json.Unmarshal(b, &s); err != nil || s.V != PayloadVersion {
		return s, fmt.Errorf("unreadable scan payload (version %d): %v", s.V, err)
	}
	if s.Batch != "" {
		if err := CheckBatchID(s.Batch); err != nil {
			return s, fmt.Errorf("scan payload: %w", err)
		}
	}
	return s, nil
}

var validBatchID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckBatchID reports whether id can name a batch: 1-128 characters of
// letters, digits, '.', '_' and '-', starting with a letter or digit. The
// id becomes part of Redis keys and of the summary's object key (SummaryKey).
func CheckBatchID(id string) error {
	if !validBatchID.MatchString(id) {
		return fmt.Errorf("batch id %q: want 1-128 of [A-Za-z0-9._-], starting with a letter or digit", id)
	}
	return nil
}

// RetryCeiling is the asynq MaxRetry of every recognize task: a safety net
// far above any worker.maxRetry (config caps it at config.MaxRetryLimit);
// the worker counts its retry budget itself (tasks/budget.go).
const RetryCeiling = 100

// failuresHeader carries a handed-back task's failed tries so far.
const failuresHeader = "ocr-failures"

// HandBackID is the task ID of a task handed back on asynq's last try.
func HandBackID(id string) string { return id + "-again" }

// HandBack is task t handed back as a fresh task: the same type and
// payload bytes, carrying its failed tries so far (enqueue it as HandBackID).
func HandBack(t *asynq.Task, failures int) *asynq.Task {
	return asynq.NewTaskWithHeaders(t.Type(), t.Payload(), map[string]string{failuresHeader: strconv.Itoa(failures)})
}

// CarriedFailures reads the failures a handed-back task carries (0 for any
// other task).
func CarriedFailures(t *asynq.Task) int {
	if t == nil {
		return 0
	}
	n, err := strconv.Atoi(t.Headers()[failuresHeader])
	if err != nil || n < 0 {
		return 0
	}
	return n
}
