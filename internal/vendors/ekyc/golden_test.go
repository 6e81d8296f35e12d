package ekyc

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// The seed pages' response examples, made valid JSON (their "[...]"
// elisions emptied), are the golden inputs.
func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPaths asserts JSON paths of v, as vendortest does.
func checkPaths(t *testing.T, v any, want map[string]any) {
	t.Helper()
	b, _ := json.Marshal(v)
	var got any
	_ = json.Unmarshal(b, &got)
	for path, w := range want {
		g, ok := vendortest.Lookup(got, path)
		if !ok {
			t.Errorf("%s: missing in %s", path, b)
			continue
		}
		wb, _ := json.Marshal(w)
		var wj any
		_ = json.Unmarshal(wb, &wj)
		if !reflect.DeepEqual(g, wj) {
			t.Errorf("%s = %#v; want %#v", path, g, wj)
		}
	}
}

func TestGoldenBizLicense(t *testing.T) {
	resp, err := documentResponse(golden(t, "seed_bizlicense.json"), &vendors.Request{DocumentType: result.TypeBizLicense})
	if err != nil {
		t.Fatal(err)
	}
	wantDetails := []result.Detail{{Key: "inferDetailType", Value: "BL_CORP"}, {Key: "inferDetailResource", Value: "bl-corp"}}
	if resp.UID != "a1b2c3d4e5f6g7h8i9j0k1l2m3" || !reflect.DeepEqual(resp.Details, wantDetails) {
		t.Errorf("vendor details = %q %+v", resp.UID, resp.Details)
	}
	f, ok := resp.Fields.(*result.BizLicense)
	if !ok {
		t.Fatalf("Fields is %T", resp.Fields)
	}
	checkPaths(t, f, map[string]any{
		"documentType.value":       "사업자등록증",
		"registerNumber.value":     nil, // the page prints "XXX-XX-XXXXX": not a number
		"registerNumber.text":      "XXX-XX-XXXXX",
		"corpName.value":           "네이버파이낸셜 주식회사",
		"corpRegisterNumber.value": "111111-2222222",
		"representative.value":     "홍길동",
		"openDate.value":           "2019-11-01",
		"openDate.text":            "2019년 11월 01일",
		"issuanceDate.value":       "2019-11-05",
		"issuanceReason.value":     "정정",
		"businessAddress.value":    "경기도 성남시 분당구 불정로 6 (정자동, 그린팩토리)",
		"businessAddress.boxes":    [][][2]float64{{{227, 350}, {284, 350}, {284, 372}, {227, 372}}},
		"headAddress.value":        "경기도 성남시 분당구 불정로 6 (정자동, 그린팩토리)",
		"businessType.0.value":     "금융 및 보험업",
		"businessItem.0.value":     "전자지급결제대행",
		"taxType.value":            "법인사업자",
	})
	if f.CompanyName != nil || f.Area != nil || len(f.CoRepresentatives) != 0 {
		t.Errorf("fields the answer lacks are set: %+v %+v %+v", f.CompanyName, f.Area, f.CoRepresentatives)
	}
}

func TestGoldenIDCard(t *testing.T) {
	body := golden(t, "seed_idcard.json")
	for _, pii := range []bool{false, true} {
		resp, err := documentResponse(body, &vendors.Request{DocumentType: result.TypeIDCard, PII: pii, KeepRaw: true})
		if err != nil {
			t.Fatal(err)
		}
		wantDetails := []result.Detail{{Key: "inferDetailType", Value: "IC"}, {Key: "inferDetailResource", Value: "ic"}, {Key: "isGrayScale", Value: false}}
		if !reflect.DeepEqual(resp.Details, wantDetails) {
			t.Errorf("vendor details = %+v", resp.Details)
		}
		number := "111111-2******"
		if pii {
			number = "111111-2222222"
		}
		checkPaths(t, resp.Fields, map[string]any{
			"idType":               "resident",
			"name.value":           "홍길순",
			"name.boxes.0.0":       [2]float64{87.12531, 128.30472},
			"personalNumber.value": number,
			"personalNumber.text":  number,
			"address.value":        "경기도 성남시 분당구 불정로 6 (정자동, 그린팩토리)",
			"issueDate.value":      "2012-06-01",
			"issueDate.text":       "2012. 6. 1.",
			"issuer.value":         "경기도 성남시장",
		})
		raw := string(resp.Raw)
		if strings.Contains(raw, "feature") || strings.Contains(raw, "-0.020869667") || strings.Contains(raw, "alignedImage") {
			t.Errorf("raw keeps face vectors: %s", raw)
		}
		if got := strings.Contains(raw, "111111-2222222"); got != pii {
			t.Errorf("pii=%v: raw holds the whole number = %v", pii, got)
		}
		if fb, _ := json.Marshal(resp.Fields); !pii && strings.Contains(string(fb), "2222222") {
			t.Errorf("masked fields hold the number: %s", fb)
		}
	}
}

func TestGoldenFaceCompare(t *testing.T) {
	body := golden(t, "seed_facecompare.json")
	for _, tc := range []struct {
		threshold float64
		match     bool
	}{{0.7, false}, {0.4, true}, {0.40129185, true}, {0.5, false}} {
		c := newClient(t, Options{URL: "https://x", Secret: "s", MatchThreshold: tc.threshold})
		resp, err := c.compareResponse(body, &vendors.Request{DocumentType: result.TypeFaceCompare, KeepRaw: true})
		if err != nil {
			t.Fatal(err)
		}
		fc := resp.Fields.(*result.FaceCompare)
		want := &result.FaceCompare{Similarity: 0.40129185, Match: tc.match, Faces: result.FaceCount{Card: 1, Face: 0}}
		if !reflect.DeepEqual(fc, want) {
			t.Errorf("threshold %v: %+v; want %+v", tc.threshold, fc, want)
		}
		if resp.UID != "a1b2c3d4e5f6g7h8i9j0k1l2m3" {
			t.Errorf("uid = %q", resp.UID)
		}
		if raw := string(resp.Raw); strings.Contains(raw, "feature") || strings.Contains(raw, "0.030027457") || strings.Contains(raw, "alignedImage") {
			t.Errorf("raw keeps face vectors: %s", raw)
		}
	}
}

func TestFaceCompareNoFaceAndErrors(t *testing.T) {
	c := newClient(t, Options{URL: "https://x", Secret: "s"})
	req := &vendors.Request{DocumentType: result.TypeFaceCompare}
	for _, tc := range []struct {
		body string
		want *result.FaceCompare
		code ocrerr.Code
	}{
		{`{"result":"ERROR","message":"Face not detected: faceImage","faces":[{}]}`, &result.FaceCompare{Faces: result.FaceCount{Card: 1}}, ""},
		{`{"result":"ERROR","message":"Face not detected: cardImage","faces":[{}]}`, &result.FaceCompare{Faces: result.FaceCount{Face: 1}}, ""},
		{`{"result":"ERROR","message":"Face not detected: cardImage, faceImage","faces":[]}`, &result.FaceCompare{}, ""},
		{`{"result":"SUCCESS","similarityPercentage":91.5,"faces":[{},{}]}`, &result.FaceCompare{Similarity: 0.915, Match: true, Faces: result.FaceCount{Card: 1, Face: 1}}, ""},
		{`{"result":"ERROR","message":"Internal error"}`, nil, ocrerr.RecognitionFailed},
		{`{"result":"SUCCESS","faces":[]}`, nil, ocrerr.InvalidResponse},
		{`{"result":"SUCCESS","similarity":1.5}`, nil, ocrerr.InvalidResponse},
		{`{"result":"MAYBE"}`, nil, ocrerr.InvalidResponse},
		{`{}`, nil, ocrerr.InvalidResponse},
	} {
		resp, err := c.compareResponse([]byte(tc.body), req)
		if tc.code != "" {
			if e, ok := ocrerr.As(err); !ok || e.Code != tc.code {
				t.Errorf("%s: err = %v; want %s", tc.body, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if got := resp.Fields.(*result.FaceCompare); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v; want %+v", tc.body, got, tc.want)
		}
	}
}

func TestDocumentInferResults(t *testing.T) {
	req := &vendors.Request{DocumentType: result.TypeBizLicense}
	for body, code := range map[string]ocrerr.Code{
		`{"images":[{"inferResult":"FAILURE","message":"홍길동 failed"}]}`: ocrerr.RecognitionFailed,
		`{"images":[{"inferResult":"ERROR"}]}`:                          ocrerr.RecognitionFailed,
		`{"images":[{"inferResult":"SUCCESS"}]}`:                        ocrerr.InvalidResponse,
		`{"images":[]}`:                                                 ocrerr.InvalidResponse,
		`{"images":[{"inferResult":"??"}]}`:                             ocrerr.InvalidResponse,
		`<html>`:                                                        ocrerr.InvalidResponse,
	} {
		_, err := documentResponse([]byte(body), req)
		e, ok := ocrerr.As(err)
		if !ok || e.Code != code {
			t.Errorf("%s: err = %v; want %s", body, err, code)
			continue
		}
		if strings.Contains(e.Error(), "홍길동") {
			t.Errorf("error text quotes the vendor message: %v", e)
		}
	}
}
