package ekyc

import (
	"encoding/json"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/normalize"
)

// faceSecrets are keys never kept from an answer, PII or not: result-v1
// forbids storing face feature vectors and aligned face images.
// Keys are compared case-folded, as encoding/json reads them.
var faceSecrets = map[string]bool{"feature": true, "alignedimage": true}

// rawMasks masks personal numbers in a kept raw answer, by the key of the
// card object and field they sit under ("" = any card). Every string below
// the field (text, formatted.value, maskingText) is masked.
// Keys are lower-case: answers are matched case-folded.
var rawMasks = map[string]map[string]func(string) string{
	"":   {"personalnum": normalize.MaskResidentNumber, "socialnumber": normalize.MaskResidentNumber, "corepsocialnum": normalize.MaskResidentNumber},
	"dl": {"num": normalize.MaskLicenseNumber},
	"pp": {"num": normalize.MaskPassportNumber, "personalnum": normalize.MaskAll, "mrz1": normalize.MaskAll, "mrz2": normalize.MaskAll},
	"ac": {"alienregnum": normalize.MaskResidentNumber, "alienregnumetc": normalize.MaskAll},
}

// sanitizeRaw returns the answer fit for storage: without face vectors and
// aligned images, and with personal numbers masked unless pii.
func sanitizeRaw(body []byte, pii bool) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	v = sanitize(v, "", nil, pii)
	return json.Marshal(v)
}

func sanitize(v any, card string, mask func(string) string, pii bool) any {
	switch t := v.(type) {
	case map[string]any:
		for key, child := range t {
			k := strings.ToLower(key)
			if faceSecrets[k] {
				delete(t, key)
				continue
			}
			m := mask
			if m == nil && !pii {
				if f, ok := rawMasks[card][k]; ok {
					m = f
				} else if f, ok := rawMasks[""][k]; ok {
					m = f
				}
			}
			nextCard := card
			if _, isCard := rawMasks[k]; isCard && k != "" {
				nextCard = k
			}
			t[key] = sanitize(child, nextCard, m, pii)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = sanitize(child, card, mask, pii)
		}
		return t
	case string:
		if mask != nil {
			return mask(t)
		}
	}
	return v
}

// MaskRaw applies today's masking to a raw copy stored by any version
// (producer remask).
func MaskRaw(stored []byte) (json.RawMessage, error) { return sanitizeRaw(stored, false) }
