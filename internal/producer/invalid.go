package producer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// ErrInvalid marks a source the producer refused before enqueueing
// anything (unknown type or vendor, a malformed URI, a location outside the
// allow-lists): bad input, which the command reports as bad usage (exit 2).
var ErrInvalid = errors.New("invalid source")

type invalidErr struct{ err error }

func (e invalidErr) Error() string        { return e.err.Error() }
func (e invalidErr) Unwrap() error        { return e.err }
func (e invalidErr) Is(target error) bool { return target == ErrInvalid }

func invalid(err error) error {
	if err == nil || errors.Is(err, ErrInvalid) {
		return err
	}
	return invalidErr{err}
}

// UnknownType describes an unknown document type, suggesting the known one
// it is closest to (a typo like "reciept").
func UnknownType(t string) string {
	msg := fmt.Sprintf("unknown document type %q", t)
	if s := closest(t, result.DocumentTypes); s != "" {
		msg += fmt.Sprintf(": did you mean %q?", s)
	}
	return msg + " (want one of " + strings.Join(result.DocumentTypes, ", ") + ")"
}

// closest returns the candidate within two edits of s, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment): a swap of two neighbours ("reciept") is one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// checkURIs reports a malformed source, output or face URI with the
// parser's reason (a ".." segment, outside storage.fileRoot, no bucket),
// which Validate leaves out because the worker logs its errors.
func checkURIs(t layout.Recognize) error {
	if _, err := storage.ParseURI(t.Source); err != nil {
		return err
	}
	if _, err := storage.ParseURI(t.Out); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if t.Face != "" {
		if _, err := storage.ParseURI(t.Face); err != nil {
			return fmt.Errorf("face image: %w", err)
		}
	}
	return nil
}
