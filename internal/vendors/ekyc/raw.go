package ekyc

import (
	"encoding/json"

	"github.com/ocrbatch/ocrworker/internal/normalize"
)

// faceSecrets are keys never kept from an answer, PII or not: result-v1
// forbids storing face feature vectors and aligned face images.
var faceSecrets = map[string]bool{"feature": true, "alignedImage": true}

// rawMasks masks personal numbers in a kept raw answer, by the key of the
// card object and field they sit under ("" = any card). Every string below
// the field (text, formatted.value, maskingText) is masked.
var rawMasks = map[string]map[string]func(string) string{
	"":   {"personalNum": normalize.MaskResidentNumber, "socialNumber": normalize.MaskResidentNumber, "coRepSocialNum": normalize.MaskResidentNumber},
	"dl": {"num": normalize.MaskLicenseNumber},
	"pp": {"num": normalize.MaskPassportNumber, "mrz1": normalize.MaskAll, "mrz2": normalize.MaskAll},
	"ac": {"alienRegNum": normalize.MaskResidentNumber, "alienRegNumEtc": normalize.MaskAll},
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
		for k, child := range t {
			if faceSecrets[k] {
				delete(t, k)
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
			t[k] = sanitize(child, nextCard, m, pii)
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
