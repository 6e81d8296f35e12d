package batch

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// SummarySchema names the format of the summary object.
const SummarySchema = "ocr-batch/v1"

// Status is a snapshot of one batch's counters.
type Status struct {
	ID        string
	Total     int64 // sources enqueued plus sources skipped
	Succeeded int64
	Failed    int64
	Skipped   int64
	// Pages read and vendor calls made for the batch's sources (Spent),
	// calls with retries and throttled calls included.
	Pages, Calls int64
	// VendorCalls: Calls by vendor name (the vendors the batch uses).
	VendorCalls map[string]int64
	// Sealed: the producer has enqueued everything.
	Sealed     bool
	StartedAt  time.Time // first enqueue
	UpdatedAt  time.Time // last change
	FinishedAt time.Time // zero until done
	Done       bool
	Cancelled  bool  // producer cancel stopped its scans and dropped its queued tasks
	InFlight   int64 // sources enqueued and not yet counted
	// Windowed scans (enqueue --scan, backfills): objects listed so far,
	// and whether a listing is still going.
	Scan    bool
	Listed  int64
	Listing bool
}

// Failure is one failed source and its result-v1 error code.
type Failure struct {
	Source string `json:"source"`
	Code   string `json:"code"`
}

// Counted is the number of sources with an outcome (skipped included).
func (s Status) Counted() int64 { return s.Succeeded + s.Failed + s.Skipped }

// Pending is the number of sources still waiting for an outcome.
func (s Status) Pending() int64 { return max(s.Total-s.Counted(), 0) }

// Percent is the share of sources with an outcome, 0-100.
func (s Status) Percent() float64 {
	if s.Total == 0 {
		if s.Done {
			return 100
		}
		return 0
	}
	return 100 * float64(s.Counted()) / float64(s.Total)
}

// Rate is the number of documents processed (succeeded or failed; skipped
// ones cost nothing) per second since the batch started, up to now or, once
// done, up to its end.
func (s Status) Rate(now time.Time) float64 {
	end := now
	if s.Done {
		end = s.FinishedAt
	}
	el := end.Sub(s.StartedAt).Seconds()
	if s.StartedAt.IsZero() || el <= 0 {
		return 0
	}
	return float64(s.Succeeded+s.Failed) / el
}

// ETA estimates the time left at the current rate; 0 when unknown or done.
func (s Status) ETA(now time.Time) time.Duration {
	r := s.Rate(now)
	if s.Done || r <= 0 {
		return 0
	}
	return time.Duration(float64(s.Pending()) / r * float64(time.Second)).Round(time.Second)
}

// summary is the JSON layout of _batches/<id>.json.
type summary struct {
	Schema     string           `json:"schema"`
	Batch      string           `json:"batch"`
	Done       bool             `json:"done"`
	Total      int64            `json:"total"`
	Succeeded  int64            `json:"succeeded"`
	Failed     int64            `json:"failed"`
	Skipped    int64            `json:"skipped"`
	Pages      int64            `json:"pages"`       // pages read: a 3-page PDF counts 3
	Calls      int64            `json:"vendorCalls"` // vendor calls made, retries and throttled calls included
	ByVendor   map[string]int64 `json:"vendorCallsByVendor,omitempty"`
	StartedAt  time.Time        `json:"startedAt"`
	FinishedAt time.Time        `json:"finishedAt,omitzero"`
	DurationMs int64            `json:"durationMs"`
	Failures   []Failure        `json:"failures"`
}

// Summary renders the batch summary written to <out>/_batches/<id>.json:
// the counts, the times and the failed sources with their codes, sorted by
// source so rewrites are stable.
func (s Status) Summary(failures []Failure) ([]byte, error) {
	fs := append([]Failure(nil), failures...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Source < fs[j].Source })
	if fs == nil {
		fs = []Failure{} // "failures": [] rather than null
	}
	sum := summary{
		Schema:     SummarySchema,
		Batch:      s.ID,
		Done:       s.Done,
		Total:      s.Total,
		Succeeded:  s.Succeeded,
		Failed:     s.Failed,
		Skipped:    s.Skipped,
		Pages:      s.Pages,
		Calls:      s.Calls,
		ByVendor:   s.VendorCalls,
		StartedAt:  s.StartedAt.UTC(),
		FinishedAt: s.FinishedAt.UTC(),
		Failures:   fs,
	}
	if s.Done {
		sum.DurationMs = s.FinishedAt.Sub(s.StartedAt).Milliseconds()
	}
	return json.MarshalIndent(sum, "", "  ")
}

// Print writes one line about the batch, for `producer status`:
//
//	batch B: 57/100 (57.0%) succeeded 50 failed 5 skipped 2 pending 43, 3.1 docs/s, eta 14s, 61 vendor calls
func Print(w io.Writer, s Status) error {
	return printAt(w, s, time.Now())
}

func printAt(w io.Writer, s Status, now time.Time) error {
	state := "running"
	switch {
	case s.Done && s.Cancelled:
		state = "cancelled, done in " + s.FinishedAt.Sub(s.StartedAt).Round(time.Second).String()
	case s.Cancelled:
		state = "cancelled"
	case s.Done:
		state = "done in " + s.FinishedAt.Sub(s.StartedAt).Round(time.Second).String()
	case !s.Sealed && s.Listing:
		state = "listing"
	case !s.Sealed:
		state = "enqueueing"
	default:
		if eta := s.ETA(now); eta > 0 {
			state = "eta " + eta.String()
		}
	}
	if s.Calls > 0 {
		state += fmt.Sprintf(", %d vendor calls", s.Calls)
	}
	_, err := fmt.Fprintf(w, "batch %s: %d/%d (%.1f%%) succeeded %d failed %d skipped %d pending %d, %.1f docs/s, %s%s\n",
		s.ID, s.Counted(), s.Total, s.Percent(), s.Succeeded, s.Failed, s.Skipped, s.Pending(), s.Rate(now), state, s.ScanLine())
	return err
}

// ScanLine is what a windowed scan adds to the status line: how far its
// listing got and how many of its tasks are queued or running.
func (s Status) ScanLine() string {
	if !s.Scan {
		return ""
	}
	l := "listed"
	if s.Listing {
		l = "listing"
	}
	return fmt.Sprintf("; scan %s %d, in flight %d", l, s.Listed, s.InFlight)
}
