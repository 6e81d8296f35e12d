package ekycemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

const secret = "s3cret"

var image = []byte("\x89PNG fake image bytes")

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func docJSON(id string, data []byte) string {
	return `{"requestId":"` + id + `","timestamp":1700000000000,"images":[{"name":"doc","format":"png","data":"` + b64(data) + `"}]}`
}

func compareJSON(id string, card, face []byte) string {
	return `{"requestId":"` + id + `","cardImage":{"name":"card","format":"jpg","data":"` + b64(card) +
		`"},"faceImage":{"name":"face","format":"jpg","data":"` + b64(face) + `"}}`
}

func call(s *Server, path, contentType, key, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/ekyc/v1/1/sig/"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	if key != "" {
		r.Header.Set("X-EKYC-SECRET", key)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if e.Path == "" || e.Timestamp == 0 || e.Message == "" {
		t.Errorf("incomplete error body %+v", e)
	}
	return e.Code
}

func TestValidation(t *testing.T) {
	const js = "application/json"
	for _, tc := range []struct {
		name, path, ct, key, body string
		status                    int
		code                      string
	}{
		{"unknown path", "biz-license/other", js, secret, docJSON("a", image), 404, "0001"},
		{"no secret", "biz-license/document", js, "", docJSON("a", image), 401, "0002"},
		{"wrong secret", "id-card/document", js, "nope", docJSON("a", image), 401, "0002"},
		{"not json", "id-card/document", js, secret, `{"requestId":`, 400, "0011"},
		{"wrong content type", "id-card/document", "text/plain", secret, docJSON("a", image), 400, "0011"},
		{"no requestId", "id-card/document", js, secret, docJSON("", image), 400, "0011"},
		{"no timestamp", "id-card/document", js, secret, `{"requestId":"a","images":[{"name":"d","format":"png","data":"` + b64(image) + `"}]}`, 400, "0011"},
		{"two images", "id-card/document", js, secret, `{"requestId":"a","timestamp":1,"images":[{"name":"d","format":"png","data":"eA=="},{"name":"e","format":"png","data":"eA=="}]}`, 400, "0011"},
		{"no name", "id-card/document", js, secret, `{"requestId":"a","timestamp":1,"images":[{"format":"png","data":"eA=="}]}`, 400, "0011"},
		{"bad base64", "id-card/document", js, secret, `{"requestId":"a","timestamp":1,"images":[{"name":"d","format":"png","data":"%%%"}]}`, 400, "0011"},
		{"gif", "biz-license/document", js, secret, `{"requestId":"a","timestamp":1,"images":[{"name":"d","format":"gif","data":"eA=="}]}`, 400, "0012"},
		{"compare without face", "face/compare", js, secret, `{"requestId":"a","cardImage":{"name":"c","format":"jpg","data":"eA=="}}`, 400, "0011"},
		{"compare bmp", "face/compare", js, secret, `{"requestId":"a","cardImage":{"name":"c","format":"jpg","data":"eA=="},"faceImage":{"name":"f","format":"bmp","data":"eA=="}}`, 400, "0012"},
	} {
		s := New(Options{Secret: secret})
		w := call(s, tc.path, tc.ct, tc.key, tc.body)
		if w.Code != tc.status {
			t.Errorf("%s: status %d; want %d (%s)", tc.name, w.Code, tc.status, w.Body)
			continue
		}
		if code := errorCode(t, w); code != tc.code {
			t.Errorf("%s: code %s; want %s", tc.name, code, tc.code)
		}
		if st := s.Engine().Stats(); len(st.CallsByImage) != 0 {
			t.Errorf("%s: a rejected call was admitted: %v", tc.name, st.CallsByImage)
		}
	}
}

func TestRequestIDReuseAndQuota(t *testing.T) {
	s := New(Options{Secret: secret, Quota: 2})
	if w := call(s, "biz-license/document", "application/json", secret, docJSON("r1", image)); w.Code != 200 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	w := call(s, "id-card/document", "application/json", secret, docJSON("r1", image))
	if w.Code != 400 || errorCode(t, w) != "0013" {
		t.Errorf("reuse: %d %s", w.Code, w.Body)
	}
	if w := call(s, "id-card/document", "application/json", secret, docJSON("r2", image)); w.Code != 200 {
		t.Errorf("second: %d", w.Code)
	}
	w = call(s, "id-card/document", "application/json", secret, docJSON("r3", image))
	if w.Code != 400 || errorCode(t, w) != "0023" {
		t.Errorf("over quota: %d %s", w.Code, w.Body)
	}
	if st := s.Engine().Stats(); st.DuplicateRequestIDs != 1 {
		t.Errorf("duplicates = %d", st.DuplicateRequestIDs)
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      emulator.Behavior
		marker []byte
		check  func(t *testing.T, w *httptest.ResponseRecorder)
	}{
		{"throttle", emulator.Behavior{ThrottleRate: 1}, nil, func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Code != 400 || errorCode(t, w) != "0025" {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		}},
		{"server error", emulator.Behavior{}, emulator.MarkerServerError, func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Code != 500 || errorCode(t, w) != "0500" {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		}},
		{"failure", emulator.Behavior{}, emulator.MarkerFailure, inferResult("FAILURE")},
		{"error", emulator.Behavior{}, emulator.MarkerError, inferResult("ERROR")},
		{"not json", emulator.Behavior{}, emulator.MarkerNotJSON, func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Code != 200 || json.Valid(w.Body.Bytes()) {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		}},
		{"truncated", emulator.Behavior{}, emulator.MarkerTruncated, func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Code != 200 || json.Valid(w.Body.Bytes()) || !strings.HasPrefix(w.Body.String(), `{"requestId"`) {
				t.Errorf("%d %s", w.Code, w.Body)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Secret: secret, Behavior: tc.b})
			img := append(append([]byte{}, image...), tc.marker...)
			tc.check(t, call(s, "id-card/document", "application/json", secret, docJSON("f", img)))
		})
	}
}

func inferResult(want string) func(t *testing.T, w *httptest.ResponseRecorder) {
	return func(t *testing.T, w *httptest.ResponseRecorder) {
		var r documentResponse
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if im := r.Images[0]; im.InferResult != want || im.IDCard != nil || im.Face != nil {
			t.Errorf("image = %+v", im)
		}
	}
}

// Success answers carry Derive's values in the seed's shapes, personal
// numbers whole in text with the vendor's maskingText beside them.
func TestIDCardSuccess(t *testing.T) {
	s := New(Options{Secret: secret})
	w := call(s, "id-card/document", "application/json", secret, docJSON("ok", image))
	var r struct {
		RequestID, UID string
		Images         []struct {
			InferResult, InferDetailType, InferDetailResource string
			IsGrayScale                                       *bool
			IDCard                                            struct {
				Result struct {
					IC struct {
						Name, PersonalNum, IssueDate []textBlock
					}
					IDType string
				}
			}
			Face struct {
				Faces []struct{ Feature []float64 }
				Count int
			}
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	d := emulator.Derive(image)
	im := r.Images[0]
	ic := im.IDCard.Result.IC
	if r.RequestID != "ok" || r.UID == "" || im.InferResult != "SUCCESS" || im.InferDetailType != "IC" || im.InferDetailResource != "ic" || im.IsGrayScale == nil {
		t.Errorf("envelope: %s", w.Body)
	}
	if ic.Name[0].Text != d.Name || ic.PersonalNum[0].Text != d.PersonalNumber || ic.PersonalNum[0].MaskingText != d.PersonalNumber[:7]+"*******" {
		t.Errorf("ic = %+v", ic)
	}
	if f := ic.IssueDate[0].Formatted; f["year"] != strings.Split(d.IssueDate.ISO(), "-")[0] {
		t.Errorf("issueDate = %+v", ic.IssueDate)
	}
	if im.Face.Count != 1 || len(im.Face.Faces[0].Feature) != 512 {
		t.Errorf("face = %d faces", im.Face.Count)
	}
}

func TestDriverLicenseMasking(t *testing.T) {
	if got := maskLicense("11-17-174133-01"); got != "11-17-******-**" {
		t.Errorf("maskLicense = %q", got)
	}
	if got := maskBack("800101-1234567"); got != "800101-*******" {
		t.Errorf("maskBack = %q", got)
	}
	if idKindOf(append([]byte("x"), MarkerPassport...)).key != "pp" || idKindOf([]byte("x")).key != "ic" {
		t.Error("idKindOf")
	}
}

func multipartBody(t *testing.T, message string, files map[string][]byte) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("message", message)
	for name, b := range files {
		fw, _ := mw.CreateFormFile(name, name+".jpg")
		_, _ = fw.Write(b)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.String()
}

func TestCompare(t *testing.T) {
	card := []byte("card image")
	face := []byte("face photo")
	s := New(Options{Secret: secret})
	for _, tc := range []struct {
		name       string
		card, face []byte
		multipart  bool
		result     string
		faces      int
		message    string
	}{
		{"json", card, face, false, "SUCCESS", 2, "Success"},
		{"multipart", card, face, true, "SUCCESS", 2, "Success"},
		{"no face on photo", card, append([]byte("x"), emulator.MarkerNoFace...), false, "ERROR", 1, "Face not detected: faceImage"},
		{"no face anywhere", append([]byte("y"), emulator.MarkerNoFace...), append([]byte("x"), emulator.MarkerNoFace...), true, "ERROR", 0, "Face not detected: cardImage, faceImage"},
	} {
		id := "cmp-" + tc.name
		var w *httptest.ResponseRecorder
		if tc.multipart {
			ct, body := multipartBody(t, `{"requestId":"`+id+`","cardImage":{"name":"c","format":"jpg"},"faceImage":{"name":"f","format":"jpg"}}`,
				map[string][]byte{"cardImage": tc.card, "faceImage": tc.face})
			w = call(s, "face/compare", ct, secret, body)
		} else {
			w = call(s, "face/compare", "application/json", secret, compareJSON(id, tc.card, tc.face))
		}
		var r compareResponse
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 {
			t.Fatalf("%s: %d %s", tc.name, w.Code, w.Body)
		}
		if r.Result != tc.result || len(r.Faces) != tc.faces || r.Message != tc.message {
			t.Errorf("%s: result %s, %d faces, %q", tc.name, r.Result, len(r.Faces), r.Message)
		}
		if tc.result == "SUCCESS" {
			if want := emulator.Derive(tc.card).Similarity; r.Similarity == nil || *r.Similarity != want || *r.SimilarityPercentage != want*100 {
				t.Errorf("%s: similarity %v; want %v", tc.name, r.Similarity, want)
			}
		}
	}
	// Multipart without the face part is malformed.
	ct, body := multipartBody(t, `{"requestId":"m2","cardImage":{"name":"c","format":"jpg"},"faceImage":{"name":"f","format":"jpg"}}`,
		map[string][]byte{"cardImage": card})
	if w := call(s, "face/compare", ct, secret, body); w.Code != 400 || errorCode(t, w) != "0011" {
		t.Errorf("missing part: %d %s", w.Code, w.Body)
	}
}

func TestBizLicenseMultipart(t *testing.T) {
	s := New(Options{Secret: secret})
	ct, body := multipartBody(t, `{"requestId":"b1","timestamp":1700000000000,"images":[{"name":"bl","format":"jpg"}]}`, map[string][]byte{"file": image})
	w := call(s, "biz-license/document", ct, secret, body)
	var r documentResponse
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	d := emulator.Derive(image)
	res := r.Images[0].BizLicense.Result
	b, _ := json.Marshal(res)
	for _, want := range []string{d.BizNumber, d.CompanyName, d.Name, koreanDate(d.OpenDate)} {
		if !strings.Contains(string(b), want) {
			t.Errorf("bizLicense lacks %q: %s", want, b)
		}
	}
	if k := r.Images[0].InferDetailType; k != bizCorp && k != bizSole {
		t.Errorf("inferDetailType %q", k)
	}
}
