package nhn

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The "result" objects of the analysis APIs (seed 001), as they come over
// the wire. Values marked "암호화 O" in the seed are Base64 ciphertexts; the
// decrypt* functions below return copies holding the plain values.

type box struct {
	X1, Y1, X2, Y2, X3, Y3, X4, Y4 float64
}

func (b *box) polygon() [][2]float64 {
	if b == nil || *b == (box{}) {
		return nil
	}
	return [][2]float64{{b.X1, b.Y1}, {b.X2, b.Y2}, {b.X3, b.Y3}, {b.X4, b.Y4}}
}

type confValue struct {
	Value string   `json:"value"`
	Conf  *float64 `json:"conf,omitempty"`
}

type creditCardAnswer struct {
	FileType     string       `json:"fileType,omitempty"`
	Resolution   string       `json:"resolution,omitempty"`
	CardNums     []confValue  `json:"cardNums,omitempty"`
	TotalCardNum stringOrList `json:"totalCardNum,omitempty"`
	CardNumBoxes []box        `json:"cardNumBoxes,omitempty"`
	ValidThru    *confValue   `json:"validThru,omitempty"`
	ValidThruBox *box         `json:"validThruBox,omitempty"`
}

type keyValue struct {
	Key   string   `json:"key"`
	Value string   `json:"value"`
	Conf  *float64 `json:"conf,omitempty"`
	BBox  *box     `json:"bbox,omitempty"`
}

type idCardAnswer struct {
	FileType   string     `json:"fileType,omitempty"`
	Resolution string     `json:"resolution,omitempty"`
	IDType     string     `json:"idType"`
	KeyValues  []keyValue `json:"keyValues,omitempty"`
	Boxes      []box      `json:"boxes,omitempty"`
}

// stringOrList is totalCardNum: the seed's table types it "List" while its
// example shows a string; accept both (a list is joined).
type stringOrList string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringOrList(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("totalCardNum is neither a string nor a list of strings")
	}
	var joined string
	for _, m := range many {
		joined += m
	}
	*s = stringOrList(joined)
	return nil
}

// decryptCreditCard parses a credit-card result and decrypts its values.
// Errors never include a value.
func decryptCreditCard(env *envelope, raw json.RawMessage) (*creditCardAnswer, error) {
	var a creditCardAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, errors.New("credit-card result is not the documented shape")
	}
	for i := range a.CardNums {
		v, err := env.decryptValue(a.CardNums[i].Value)
		if err != nil {
			return nil, fmt.Errorf("cardNums[%d].value: %w", i, err)
		}
		a.CardNums[i].Value = v
	}
	if a.TotalCardNum != "" {
		v, err := env.decryptValue(string(a.TotalCardNum))
		if err != nil {
			return nil, fmt.Errorf("totalCardNum: %w", err)
		}
		a.TotalCardNum = stringOrList(v)
	}
	if a.ValidThru != nil && a.ValidThru.Value != "" {
		v, err := env.decryptValue(a.ValidThru.Value)
		if err != nil {
			return nil, fmt.Errorf("validThru.value: %w", err)
		}
		a.ValidThru.Value = v
	}
	return &a, nil
}

// decryptIDCard parses an id-card result and decrypts keyValues[].value.
func decryptIDCard(env *envelope, raw json.RawMessage) (*idCardAnswer, error) {
	var a idCardAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, errors.New("id-card result is not the documented shape")
	}
	for i := range a.KeyValues {
		if a.KeyValues[i].Value == "" {
			continue
		}
		v, err := env.decryptValue(a.KeyValues[i].Value)
		if err != nil {
			// the key name is vendor vocabulary, not personal data
			return nil, fmt.Errorf("keyValues[%s].value: %w", safeMessage(a.KeyValues[i].Key), err)
		}
		a.KeyValues[i].Value = v
	}
	return &a, nil
}
