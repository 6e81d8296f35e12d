package vendors

import (
	"encoding/json"
	"fmt"

	"github.com/ocrbatch/ocrworker/internal/normalize"
)

// Scrub applies masked mode to a whole answer, after the vendor masked its
// own personal-number fields: every free-text field of the result and every
// string of the raw copy loses the resident and card numbers it holds
// (normalize.ScrubFields, normalize.ScrubRaw). It is the one pass every
// vendor's answer goes through, so a vendor that forgets a field cannot
// leak it. Not called for pii: full.
func Scrub(documentType string, resp *Response) error {
	if resp.Fields != nil {
		b, err := json.Marshal(resp.Fields)
		if err != nil {
			return fmt.Errorf("scrub fields: %w", err)
		}
		out, changed, err := normalize.ScrubFields(documentType, b)
		if err != nil {
			return fmt.Errorf("scrub fields: %w", err)
		}
		if changed {
			fields := FieldsType(documentType)
			if fields == nil {
				return fmt.Errorf("scrub fields: unknown document type %q", documentType)
			}
			if err := json.Unmarshal(out, fields); err != nil {
				return fmt.Errorf("scrub fields: %w", err)
			}
			resp.Fields = fields
		}
	}
	if len(resp.Raw) > 0 {
		out, _, err := normalize.ScrubRaw(resp.Raw)
		if err != nil {
			return fmt.Errorf("scrub raw answer: %w", err)
		}
		resp.Raw = out
	}
	return nil
}
