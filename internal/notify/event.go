package notify

import "time"

// Event names, as in the config's events: and the X-OCR-Event header.
const (
	EventBatchCompleted = "batch.completed"
	EventDocumentFailed = "document.failed"
	EventVendorHalted   = "vendor.halted"
)

// Events lists every event a receiver may subscribe to.
var Events = []string{EventBatchCompleted, EventDocumentFailed, EventVendorHalted}

func knownEvent(e string) bool {
	for _, k := range Events {
		if k == e {
			return true
		}
	}
	return false
}

// Body is the JSON object POSTed to a receiver. ID equals the
// X-OCR-Delivery header: a receiver that sees an ID twice has seen a retry
// of the same delivery.
type Body struct {
	ID        string    `json:"id"`
	Event     string    `json:"event"`
	CreatedAt time.Time `json:"createdAt"`
	Data      any       `json:"data"`
}

// BatchSummary is the data of batch.completed: the batch's final counts.
type BatchSummary struct {
	Batch      string    `json:"batch"`
	Total      int64     `json:"total"`
	Succeeded  int64     `json:"succeeded"`
	Failed     int64     `json:"failed"`
	Skipped    int64     `json:"skipped"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt"`
}

// DocumentsFailed is the data of document.failed: the failures of one
// batch since its previous document.failed delivery. Dropped counts
// failures left out because more than the per-delivery cap came in one
// minute; `producer status` and the batch export still list every one.
type DocumentsFailed struct {
	Batch    string    `json:"batch"`
	Failures []Failure `json:"failures"`
	Dropped  int64     `json:"dropped"`
}

// Failure is one failed source: the user's own URI and the result-v1 code.
type Failure struct {
	Source string `json:"source,omitempty"`
	Code   string `json:"code"`
}

// VendorHalt is the data of vendor.halted.
type VendorHalt struct {
	Vendor string `json:"vendor"` // the vendor's config name
	Reason string `json:"reason"` // a short code: quota_exhausted, vendor_auth, operator, ...
}
