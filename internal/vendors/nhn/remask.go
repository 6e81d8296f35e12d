package nhn

import "encoding/json"

// MaskRaw applies today's masking to a raw copy stored by any version
// (producer remask). Raw copies hold the decrypted answer of a credit card
// or an id-card, or for a verified id-card both calls under their names.
func MaskRaw(stored []byte) (json.RawMessage, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(stored, &probe); err != nil {
		return nil, err
	}
	if inner, ok := probe["id-card"]; ok {
		var id idCardAnswer
		if err := json.Unmarshal(inner, &id); err != nil {
			return nil, err
		}
		probe["id-card"] = rawJSON(id.raw(false))
		return json.Marshal(probe)
	}
	if _, ok := probe["keyValues"]; ok {
		var id idCardAnswer
		if err := json.Unmarshal(stored, &id); err != nil {
			return nil, err
		}
		return rawJSON(id.raw(false)), nil
	}
	var card creditCardAnswer
	if err := json.Unmarshal(stored, &card); err != nil {
		return nil, err
	}
	return rawJSON(card.raw(false)), nil
}
