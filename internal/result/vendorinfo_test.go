package result

import (
	"encoding/json"
	"reflect"
	"testing"
)

// oldVendorInfo is VendorInfo as it was before vendor details became a
// list: results written by either must be the same bytes.
type oldVendorInfo struct {
	Name                string `json:"name,omitempty"`
	Kind                string `json:"kind,omitempty"`
	Endpoint            string `json:"endpoint,omitempty"`
	RequestID           string `json:"requestId,omitempty"`
	UID                 string `json:"uid,omitempty"`
	InferDetailType     string `json:"inferDetailType,omitempty"`
	InferDetailResource string `json:"inferDetailResource,omitempty"`
	IsGrayScale         *bool  `json:"isGrayScale,omitempty"`
}

func TestVendorInfoJSON(t *testing.T) {
	gray := false
	for _, tc := range []struct {
		old oldVendorInfo
		new VendorInfo
	}{
		{oldVendorInfo{}, VendorInfo{}},
		{oldVendorInfo{Name: "clova", Kind: "clova-ocr", Endpoint: "document/receipt", RequestID: "r", UID: "u"},
			VendorInfo{Name: "clova", Kind: "clova-ocr", Endpoint: "document/receipt", RequestID: "r", UID: "u"}},
		{oldVendorInfo{Name: "ekyc", Kind: "clova-ekyc", InferDetailType: "IC", InferDetailResource: "ic", IsGrayScale: &gray},
			VendorInfo{Name: "ekyc", Kind: "clova-ekyc", Details: []Detail{{"inferDetailType", "IC"}, {"inferDetailResource", "ic"}, {"isGrayScale", false}}}},
		{oldVendorInfo{InferDetailType: "<&>"}, VendorInfo{Details: []Detail{{"inferDetailType", "<&>"}}}},
	} {
		want, _ := json.Marshal(tc.old)
		got, err := json.Marshal(tc.new)
		if err != nil || string(got) != string(want) {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", tc.new, got, err, want)
		}
		var back VendorInfo
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(want) {
			t.Errorf("round trip of %s = %s", want, again)
		}
		if len(tc.new.Details) > 0 && (len(back.Details) != len(tc.new.Details) || back.Details[0].Key != tc.new.Details[0].Key) {
			t.Errorf("details read back = %+v", back.Details)
		}
	}
}

func TestVendorInfoDetailNumberKeepsItsText(t *testing.T) {
	var v VendorInfo
	if err := json.Unmarshal([]byte(`{"name":"x","pages":12345678901234567890}`), &v); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(v)
	if string(got) != `{"name":"x","pages":12345678901234567890}` {
		t.Errorf("got %s", got)
	}
	if !reflect.DeepEqual(v.Details[0].Key, "pages") {
		t.Errorf("details = %+v", v.Details)
	}
}

func TestVendorInfoDetailMayNotShadowAField(t *testing.T) {
	if _, err := json.Marshal(VendorInfo{Name: "x", Details: []Detail{{"name", "y"}}}); err == nil {
		t.Error("a detail named like a field was written")
	}
}
