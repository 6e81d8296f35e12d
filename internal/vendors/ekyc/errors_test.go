package ekyc

import (
	"strings"
	"testing"
)

// Codes are copied only in their documented shapes: four digits in the
// CLOVA body, three in the API Gateway's errorCode; else "other".
func TestVendorCodeOnlyDocumentedShape(t *testing.T) {
	for body, want := range map[string]string{
		`{"code":"0025"}`:                             "0025",
		`{"code":"0013"}`:                             "0013",
		`{"error":{"errorCode":"420"}}`:               "420",
		`{"code":"800101-1234567"}`:                   "other",
		`{"error":{"errorCode":"800101-1234567"}}`:    "other",
		`{"code":"0025x"}`:                            "other",
		`{"code":"` + strings.Repeat("1", 300) + `"}`: "other",
	} {
		e := httpError(400, nil, []byte(body))
		if e.VendorCode != want {
			t.Errorf("%.60s: VendorCode %q, want %q", body, e.VendorCode, want)
		}
		if strings.Contains(e.Error(), "800101") {
			t.Errorf("%.60s: error %q holds the code", body, e)
		}
	}
}

// A vendor message that echoes a value (digits: a number from the
// document) is dropped; plain descriptions are kept.
func TestVendorMessageWithDigitsDropped(t *testing.T) {
	e := httpError(400, nil, []byte(`{"code":"0011","message":"Invalid personalNum 800101-1234567"}`))
	if strings.Contains(e.Error(), "800101") || strings.Contains(e.Error(), "personalNum") {
		t.Errorf("error %q echoes the vendor's value", e)
	}
	e = httpError(400, nil, []byte(`{"code":"0011","message":"Request body invalid."}`))
	if !strings.Contains(e.Error(), "Request body invalid.") {
		t.Errorf("error %q lost a plain vendor message", e)
	}
}
