package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Decode reads JSON objects one after another from r (JSON Lines, or
// objects simply concatenated) and yields each one's bytes. Memory is
// bounded by the largest object, not by the stream.
func Decode(r io.Reader) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		dec := json.NewDecoder(r)
		for n := 1; ; n++ {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("export: input object %d: %w", n, err))
				return
			}
			if !yield(raw, nil) {
				return
			}
		}
	}
}

// Copy writes every result of results to w and stops at the first error.
// It does not close w.
func Copy(w Writer, results iter.Seq2[[]byte, error]) error {
	for raw, err := range results {
		if err != nil {
			return err
		}
		if err := w.Write(raw); err != nil {
			return err
		}
	}
	return nil
}
