package producer

import (
	"errors"
	"strings"
	"testing"
)

func TestUnknownTypeSuggests(t *testing.T) {
	for in, want := range map[string]string{
		"reciept": "receipt", "recipt": "receipt", "Receipt": "receipt", "idcard": "id-card",
		"pasport": "passport", "face-compare": "face-compare",
	} {
		if got := closest(in, []string{"receipt", "credit-card", "name-card", "biz-license", "id-card", "medical-receipt", "passport", "face-compare"}); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
	if msg := UnknownType("invoice"); strings.Contains(msg, "did you mean") || !strings.Contains(msg, "want one of receipt") {
		t.Errorf("far from every type: %q", msg)
	}
}

func TestInvalidIsErrInvalid(t *testing.T) {
	base := errors.New("x")
	err := invalid(base)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, base) || err.Error() != "x" || invalid(nil) != nil {
		t.Errorf("invalid(%v) = %v", base, err)
	}
}
