package clovaemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

func TestRequestsAreValidatedAsDocumented(t *testing.T) {
	jpg := sample("jpg", []byte("validation"))
	b64 := base64.StdEncoding.EncodeToString(jpg)
	withImages := func(images string) string {
		return `{"version":"V2","requestId":"r1","timestamp":1,"images":` + images + `}`
	}
	img := func(fields string) string { return withImages("[{" + fields + "}]") }
	good := `"format":"jpg","name":"demo","data":"` + b64 + `"`
	const appJSON = "application/json"
	mpMessage := `{"version":"V2","requestId":"mp","timestamp":1,"images":[{"format":"jpg","name":"demo"}]}`
	mpNoFileCT, mpNoFile := multipartBody(t, mpMessage, nil)
	mpNoMsgCT, mpNoMsg := multipartBody(t, "", jpg)
	mpV1CT, mpV1 := multipartBody(t, strings.Replace(mpMessage, "V2", "V1", 1), jpg)
	mpPNGCT, mpPNG := multipartBody(t, strings.Replace(mpMessage, `"jpg"`, `"png"`, 1), jpg)

	cases := []struct {
		name        string
		method      string
		path        string
		secret      string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"no secret", "", "/document/receipt", "-", appJSON, img(good), 401, "0002"},
		{"wrong secret", "", "/document/receipt", "nope", appJSON, img(good), 401, "0002"},
		{"unknown document", "", "/document/invoice", "", appJSON, img(good), 400, "0001"},
		{"no document", "", "/document/", "", appJSON, img(good), 400, "0001"},
		{"other path", "", "/general", "", appJSON, img(good), 400, "0001"},
		{"GET", http.MethodGet, "/document/receipt", "", appJSON, "", 400, "0001"},
		{"not JSON", "", "/document/receipt", "", appJSON, `{"version":`, 400, "0011"},
		{"trailing data", "", "/document/receipt", "", appJSON, img(good) + "{}", 400, "0011"},
		{"no version", "", "/document/receipt", "", appJSON, `{"requestId":"r","timestamp":1,"images":[{` + good + `}]}`, 400, "0011"},
		{"version V1", "", "/document/receipt", "", appJSON, strings.Replace(img(good), "V2", "V1", 1), 400, "0021"},
		{"no requestId", "", "/document/receipt", "", appJSON, `{"version":"V2","timestamp":1,"images":[{` + good + `}]}`, 400, "0011"},
		{"no timestamp", "", "/document/receipt", "", appJSON, `{"version":"V2","requestId":"r","images":[{` + good + `}]}`, 400, "0011"},
		{"string timestamp", "", "/document/receipt", "", appJSON, `{"version":"V2","requestId":"r","timestamp":"1","images":[{` + good + `}]}`, 400, "0011"},
		{"no images", "", "/document/receipt", "", appJSON, `{"version":"V2","requestId":"r","timestamp":1}`, 400, "0011"},
		{"empty images", "", "/document/receipt", "", appJSON, withImages(`[]`), 400, "0011"},
		{"two images", "", "/document/receipt", "", appJSON, withImages(`[{` + good + `},{` + good + `}]`), 400, "0011"},
		{"no format", "", "/document/receipt", "", appJSON, img(`"name":"demo","data":"` + b64 + `"`), 400, "0011"},
		{"no name", "", "/document/receipt", "", appJSON, img(`"format":"jpg","data":"` + b64 + `"`), 400, "0011"},
		{"no data", "", "/document/receipt", "", appJSON, img(`"format":"jpg","name":"demo"`), 400, "0011"},
		{"bad base64", "", "/document/receipt", "", appJSON, img(`"format":"jpg","name":"demo","data":"!!not base64"`), 400, "0011"},
		{"gif", "", "/document/receipt", "", appJSON, img(`"format":"gif","name":"demo","data":"` + b64 + `"`), 400, "0011"},
		{"declared png, is jpg", "", "/document/receipt", "", appJSON, img(`"format":"png","name":"demo","data":"` + b64 + `"`), 400, "0011"},
		{"not an image", "", "/document/receipt", "", appJSON, img(`"format":"jpg","name":"demo","data":"` + base64.StdEncoding.EncodeToString([]byte("hello")) + `"`), 400, "0011"},
		{"two-page pdf", "", "/document/receipt", "", appJSON, img(`"format":"pdf","name":"demo","data":"` + base64.StdEncoding.EncodeToString(testimages.PDF(2, 1)) + `"`), 400, "0011"},
		{"three-page pdf, object streams", "", "/document/receipt", "", appJSON, img(`"format":"pdf","name":"demo","data":"` + base64.StdEncoding.EncodeToString(testimages.ScannedPDF(1, 3, 40, 40)) + `"`), 400, "0011"},
		{"three-page tiff", "", "/document/receipt", "", appJSON, img(`"format":"tiff","name":"demo","data":"` + base64.StdEncoding.EncodeToString(testimages.TIFF(1, 3)) + `"`), 400, "0011"},
		{"text/plain", "", "/document/receipt", "", "text/plain", img(good), 400, "0011"},
		{"multipart without file", "", "/document/receipt", "", mpNoFileCT, string(mpNoFile), 400, "0011"},
		{"multipart without message", "", "/document/receipt", "", mpNoMsgCT, string(mpNoMsg), 400, "0011"},
		{"multipart version V1", "", "/document/receipt", "", mpV1CT, string(mpV1), 400, "0021"},
		{"multipart declared png, is jpg", "", "/document/receipt", "", mpPNGCT, string(mpPNG), 400, "0011"},
		{"multipart without boundary", "", "/document/receipt", "", "multipart/form-data", string(mpNoFile), 400, "0011"},
	}
	f := setup(t, Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.srv.Engine().Reset()
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, f.url+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			switch c.secret {
			case "":
				req.Header.Set("X-OCR-SECRET", testSecret)
			case "-":
			default:
				req.Header.Set("X-OCR-SECRET", c.secret)
			}
			a := do(t, req)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			e := a.errorBody(t)
			if e.Code != c.code || e.Message == "" || e.TraceID == "" || e.Timestamp == 0 {
				t.Errorf("error body %+v, want code %s", e, c.code)
			}
			if e.Path != invokePrefix+c.path {
				t.Errorf("path %q, want the full request path %q", e.Path, invokePrefix+c.path)
			}
			var raw map[string]any
			a.json(t, &raw)
			if len(raw) != 5 {
				t.Errorf("error body has keys %v, want code, message, path, traceId, timestamp", raw)
			}
			mustContainNone(t, a.body, testSecret, b64[:40])
			// Rejected calls are counted, and never reach the engine.
			st := f.srv.Engine().Stats()
			total := 0
			for k, n := range st.Calls {
				total += n
				if !strings.HasSuffix(k, " "+c.code) {
					t.Errorf("counted as %q, want outcome %s", k, c.code)
				}
			}
			if total != 1 || len(st.CallsByImage) != 0 {
				t.Errorf("stats %+v, want one rejected call and none admitted", st)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	f := setup(t, Options{MaxBodyBytes: 1024})
	a := f.postJSON(t, typeReceipt, "jpg", sample("jpg", bytes.Repeat([]byte("x"), 4096)))
	if a.status != 400 || a.errorBody(t).Code != "0011" {
		t.Errorf("status %d: %s", a.status, a.body)
	}
}

func TestBothBodyModesReadTheSameDocument(t *testing.T) {
	f := setup(t, Options{})
	img := sample("png", []byte("modes"))
	d := emulator.Derive(img)
	var viaJSON, viaMultipart, viaForm response
	f.postJSON(t, typeCreditCard, "png", img).json(t, &viaJSON)
	f.postMultipart(t, typeCreditCard, "png", img).json(t, &viaMultipart)
	// The seed's first curl example sends the JSON with no Content-Type,
	// which curl sends as application/x-www-form-urlencoded.
	f.post(t, "/document/credit-card", "application/x-www-form-urlencoded", jsonBody("png", img), testSecret).json(t, &viaForm)
	for name, r := range map[string]response{"json": viaJSON, "multipart": viaMultipart, "form": viaForm} {
		if len(r.Images) != 1 || r.Images[0].CreditCard == nil || r.Images[0].CreditCard.Result.Number.Text != d.CardNumber {
			t.Errorf("%s: %+v", name, r)
		}
	}
	if viaMultipart.RequestID == viaJSON.RequestID || !strings.HasPrefix(viaMultipart.RequestID, "mp-") {
		t.Errorf("the answer must echo the request's requestId, got %q", viaMultipart.RequestID)
	}
}

func TestSinglePagePDFAndTIFFAnswerConvertedImageInfo(t *testing.T) {
	f := setup(t, Options{})
	for _, c := range []struct {
		format string
		w, h   int
	}{{"pdf", 595 * 150 / 72, 842 * 150 / 72}, {"tiff", 32, 32}, {"tif", 32, 32}} {
		img := sample(c.format, []byte("converted "+c.format))
		var r response
		a := f.postJSON(t, typeReceipt, c.format, img)
		a.json(t, &r)
		ci := r.Images[0].ConvertedImage
		if a.status != 200 || ci == nil || ci.Width != c.w || ci.Height != c.h || ci.PageIndex != 0 {
			t.Errorf("%s: status %d convertedImageInfo %+v, want %dx%d page 0", c.format, a.status, ci, c.w, c.h)
		}
	}
	var r response
	f.postJSON(t, typeReceipt, "jpeg", sample("jpg", []byte("plain"))).json(t, &r)
	if r.Images[0].ConvertedImage != nil {
		t.Error("a jpg answer must not carry convertedImageInfo")
	}
}

func TestFaultsAreAnsweredTheCLOVAWay(t *testing.T) {
	f := setup(t, Options{})
	img := func(marker []byte) []byte { return sample("jpg", append([]byte("fault "), marker...)) }

	for marker, want := range map[string]string{"FAILURE": "FAILURE", "ERROR": "ERROR"} {
		a := f.postJSON(t, typeIDCard, "jpg", img([]byte("EMULATOR:"+marker)))
		var r response
		a.json(t, &r)
		im := r.Images[0]
		if a.status != 200 || im.InferResult != want || im.Message == "" || im.Message == "SUCCESS" || im.IDCard != nil {
			t.Errorf("%s: status %d image %+v", marker, a.status, im)
		}
	}

	a := f.postJSON(t, typeReceipt, "jpg", img(emulator.MarkerServerError))
	if a.status != 500 || a.errorBody(t).Code != "0500" {
		t.Errorf("5XX: %d %s", a.status, a.body)
	}

	a = f.postJSON(t, typeReceipt, "jpg", img(emulator.MarkerNotJSON))
	if a.status != 200 || !strings.HasPrefix(a.contentType, "text/html") || json.Valid(a.body) {
		t.Errorf("NOTJSON: %d %s %s", a.status, a.contentType, a.body)
	}

	a = f.postJSON(t, typeReceipt, "jpg", img(emulator.MarkerTruncated))
	if a.status != 200 || json.Valid(a.body) || !bytes.HasPrefix(a.body, []byte(`{"version":"V2"`)) {
		t.Errorf("TRUNCATED: %d %s", a.status, a.body)
	}

	flaky := img(emulator.MarkerFlaky)
	if a := f.postJSON(t, typeReceipt, "jpg", flaky); a.status != 500 {
		t.Errorf("FLAKY first call: %d", a.status)
	}
	if a := f.postJSON(t, typeReceipt, "jpg", flaky); a.status != 200 {
		t.Errorf("FLAKY second call: %d %s", a.status, a.body)
	}

	calls := f.srv.Engine().Stats().Calls
	for k, n := range map[string]int{
		"document/id-card FAILURE": 1, "document/id-card ERROR": 1, "document/receipt 0500": 2,
		"document/receipt NOTJSON": 1, "document/receipt TRUNCATED": 1, "document/receipt SUCCESS": 1,
	} {
		if calls[k] != n {
			t.Errorf("calls[%q] = %d, want %d (all: %v)", k, calls[k], n, calls)
		}
	}
}

func TestThrottleIs400Code0025(t *testing.T) {
	f := setup(t, Options{Behavior: emulator.Behavior{RPS: 0.001, Burst: 1}})
	img := sample("jpg", []byte("throttle"))
	if a := f.postJSON(t, typeReceipt, "jpg", img); a.status != 200 {
		t.Fatalf("first call: %d %s", a.status, a.body)
	}
	a := f.postJSON(t, typeReceipt, "jpg", img)
	if a.status != 400 {
		t.Fatalf("over the rate: status %d, want 400 (CLOVA does not send 429)", a.status)
	}
	if e := a.errorBody(t); e.Code != "0025" {
		t.Errorf("code %s, want 0025", e.Code)
	}
	if n := f.srv.Engine().Stats().Calls["document/receipt 0025"]; n != 1 {
		t.Errorf("throttled calls counted %d", n)
	}
}

func TestConcurrencyLimitThrottles(t *testing.T) {
	f := setup(t, Options{Behavior: emulator.Behavior{MaxConcurrent: 1, Latency: 300 * time.Millisecond}})
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = f.postJSON(t, typeReceipt, "jpg", sample("jpg", []byte(fmt.Sprint("c", i)))).status
		}()
	}
	wg.Wait()
	ok, throttled := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 400:
			throttled++
		}
	}
	if ok < 1 || throttled < 1 || ok+throttled != len(statuses) {
		t.Errorf("statuses %v: want some 200 and some 400 0025 with one call allowed at a time", statuses)
	}
}

func TestQuota(t *testing.T) {
	f := setup(t, Options{Quota: 2})
	img := sample("jpg", []byte("quota"))
	for i := 0; i < 2; i++ {
		if a := f.postJSON(t, typeReceipt, "jpg", img); a.status != 200 {
			t.Fatalf("call %d: %d %s", i, a.status, a.body)
		}
	}
	a := f.postJSON(t, typeReceipt, "jpg", img)
	if a.status != 400 || a.errorBody(t).Code != "0023" {
		t.Fatalf("over quota: %d %s", a.status, a.body)
	}
	f.srv.SetQuota(1)
	if a := f.postJSON(t, typeReceipt, "jpg", img); a.status != 200 {
		t.Errorf("after SetQuota: %d %s", a.status, a.body)
	}
	if a := f.postJSON(t, typeReceipt, "jpg", img); a.status != 400 {
		t.Errorf("after SetQuota, over quota: %d", a.status)
	}
}

func TestThrottledCallsDoNotUseTheQuota(t *testing.T) {
	f := setup(t, Options{Quota: 1, Behavior: emulator.Behavior{ThrottleRate: 1}})
	img := sample("jpg", []byte("quota throttle"))
	for i := 0; i < 3; i++ {
		if e := f.postJSON(t, typeReceipt, "jpg", img).errorBody(t); e.Code != "0025" {
			t.Fatalf("call %d: %s, want 0025", i, e.Code)
		}
	}
	f.srv.Engine().SetBehavior(emulator.Behavior{})
	if a := f.postJSON(t, typeReceipt, "jpg", img); a.status != 200 {
		t.Errorf("the quota must be intact after throttled calls: %d %s", a.status, a.body)
	}
}

func TestReusedRequestIDsAreRecordedNotRefused(t *testing.T) {
	f := setup(t, Options{})
	body := jsonBody("jpg", sample("jpg", []byte("ids")))
	for i := 0; i < 2; i++ {
		if a := f.post(t, "/document/receipt", "application/json", body, testSecret); a.status != 200 {
			t.Fatalf("call %d: %d", i, a.status)
		}
	}
	f.postJSON(t, typeReceipt, "jpg", sample("jpg", []byte("ids 2")))
	st := f.srv.Engine().Stats()
	if st.DuplicateRequestIDs != 1 || st.RequestIDs != 2 {
		t.Errorf("duplicates %d distinct %d, want 1 and 2", st.DuplicateRequestIDs, st.RequestIDs)
	}
}

func TestEmptySecretRefusesEveryone(t *testing.T) {
	s := New(Options{})
	if s.secretOK("") || s.secretOK("x") {
		t.Error("a server without a secret must refuse every call")
	}
}
