package normalize

import (
	"encoding/json"
	"strings"
)

// MaskJSON masks a vendor's raw JSON answer for storage (keepRaw). rules maps
// a JSON object key to the mask for it: every string anywhere below that
// key (its "text", "formatted.value", "rawText", ...) is masked, so the raw
// answer leaks nothing the normalized result masks. Keys match at any depth;
// a rule "parent.key" (parent: the nearest enclosing object key, arrays
// skipped) wins over a rule "key", for keys whose meaning depends on where
// they are (CLOVA "num" is a license number under "dl", a passport number
// under "pp").
// Keys match case-insensitively, as encoding/json reads them: a vendor (or
// an attacker) spelling "PersonalNum" gets the rule of "personalNum".
// The output is re-encoded compactly; key order is not kept.
func MaskJSON(raw []byte, rules map[string]func(string) string) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	folded := make(map[string]func(string) string, len(rules))
	for k, r := range rules {
		folded[strings.ToLower(k)] = r
	}
	return json.Marshal(maskValue(v, "", nil, folded))
}

func maskValue(v any, parent string, mask func(string) string, rules map[string]func(string) string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			lk := strings.ToLower(k)
			m := mask
			if m == nil {
				if r, ok := rules[parent+"."+lk]; ok {
					m = r
				} else if r, ok := rules[lk]; ok {
					m = r
				}
			}
			t[k] = maskValue(child, lk, m, rules)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = maskValue(child, parent, mask, rules)
		}
		return t
	case string:
		if mask != nil {
			return mask(t)
		}
	}
	return v
}
