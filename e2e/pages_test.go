package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// pagesConfig is the default stack config with a page policy per type and
// credit cards read by NHN (which takes JPEG and PNG only).
var pagesConfig = strings.Replace(stack.DefaultConfig, "  credit-card: clova\n", "  credit-card: nhn\n", 1) + `types:
  receipt: {pages: each, maxPages: 5}
  biz-license: {pages: first}
  name-card: {maxPages: 2}
`

// pagedResult is the part of a result this test reads beyond Result.
type pagedResult struct {
	PageCount int `json:"pageCount"`
	Pages     []struct {
		Page   int             `json:"page"`
		Status string          `json:"status"`
		Fields json.RawMessage `json:"fields"`
		Error  *struct {
			Code string `json:"code"`
		} `json:"error"`
	} `json:"pages"`
}

// TestPagesAndFormatsThroughTheBinaries: multi-page PDFs (written by
// pdfcpu) and TIFFs, WebP, BMP, GIF and a sideways phone photo go through
// the built producer and worker against the emulator, which refuses
// multi-page files and formats the vendor does not take. Each page is one
// vendor call; NHN is sent only PNG and JPEG.
func TestPagesAndFormatsThroughTheBinaries(t *testing.T) {
	if !strings.Contains(pagesConfig, "credit-card: nhn") {
		t.Fatal("could not adapt the default config")
	}
	s := newStack(t, stack.Options{Config: pagesConfig})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")

	stack3 := testimages.ScannedPDF(21, 3, 160, 220)
	// The emulator plays the vendor: the whole 3-page PDF, a WebP, are refused.
	for format, data := range map[string][]byte{"pdf": stack3, "tiff": testimages.TIFF(2, 3), "webp": testimages.WebP(1, 40, 30)} {
		if code := clovaDirect(t, s, format, data); code != "0011" {
			t.Fatalf("the emulator took a %s the vendor refuses (answer %q)", format, code)
		}
	}

	type want struct {
		typ, status, code string
		pages, pageCount  int // pages: len(pages) (0: none)
	}
	failPage := testimages.JPEG(23, 120, 160, emulator.MarkerFailure) // pdfcpu keeps a JPEG's bytes as they are
	cases := map[string]struct {
		data []byte
		want want
	}{
		"pages/stack.pdf":   {stack3, want{"receipt", "succeeded", "", 3, 3}},
		"pages/fax.tiff":    {testimages.TIFF(3, 3), want{"receipt", "succeeded", "", 3, 3}},
		"pages/license.pdf": {testimages.ScannedPDF(24, 2, 120, 160), want{"biz-license", "succeeded", "", 0, 2}},
		"pages/cards.pdf":   {testimages.ScannedPDF(25, 3, 80, 50), want{"name-card", "failed", "too_many_pages", 0, 0}},
		"pages/failing.pdf": {testimages.ScannedPDFOf(testimages.JPEG(22, 120, 160, nil), failPage, testimages.JPEG(26, 120, 160, nil)),
			want{"receipt", "failed", "page_failed", 3, 3}},
		"formats/a.webp":       {testimages.WebP(4, 90, 60), want{"receipt", "succeeded", "", 0, 0}},
		"formats/a.bmp":        {testimages.BMP(5, 90, 60), want{"receipt", "succeeded", "", 0, 0}},
		"formats/a.gif":        {testimages.GIF(6, 90, 60, 2), want{"receipt", "succeeded", "", 0, 0}},
		"formats/sideways.jpg": {testimages.RotatedJPEG(7, 90, 60, 6), want{"receipt", "succeeded", "", 0, 0}},
		"formats/lossy.webp":   {testimages.WebPLossy(), want{"receipt", "succeeded", "", 0, 0}},
		// NHN: JPEG and PNG only.
		"nhn/card.webp":  {testimages.WebP(8, 60, 40), want{"credit-card", "succeeded", "", 0, 0}},
		"nhn/card.tiff":  {testimages.TIFF(9, 2), want{"credit-card", "succeeded", "", 2, 2}},
		"nhn/scan.pdf":   {testimages.ScannedPDF(10, 1, 80, 50), want{"credit-card", "succeeded", "", 0, 0}},
		"nhn/text.pdf":   {testimages.PDF(1, 11), want{"credit-card", "failed", "unsupported_format", 0, 0}},
		"nhn/locked.pdf": {testimages.EncryptedPDF(1, 12, "", "owner"), want{"credit-card", "failed", "unsupported_format", 0, 0}},
	}
	var manifest []map[string]any
	for key, c := range cases {
		put(t, in, key, c.data)
		manifest = append(manifest, map[string]any{"uri": "s3://inbox/" + key, "type": c.want.typ})
	}
	if _, err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--out", "s3://outbox/r/", "--batch", "pages", "@"+writeManifest(t, manifest))
	waitResults(t, out, "r/", len(cases), 2*time.Minute)

	for key, c := range cases {
		r := readResult(t, out, "r/"+key+".json")
		var p pagedResult
		if err := json.Unmarshal(r.raw, &p); err != nil {
			t.Fatal(err)
		}
		code := ""
		if r.Error != nil {
			code = r.Error.Code
		}
		if r.Status != c.want.status || code != c.want.code || len(p.Pages) != c.want.pages || p.PageCount != c.want.pageCount {
			t.Errorf("%s: status %s code %q pages %d pageCount %d, want %+v\n%s", key, r.Status, code, len(p.Pages), p.PageCount, c.want, r.raw)
			continue
		}
		if r.Source["sha256"] != sha(c.data) && c.want.code != "too_many_pages" && c.want.code != "unsupported_format" {
			t.Errorf("%s: source sha256 %v, want the source's", key, r.Source["sha256"])
		}
		if r.Status == "succeeded" && r.Fields == nil {
			t.Errorf("%s: no fields", key)
		}
		for i, pg := range p.Pages {
			wantStatus := "succeeded"
			if key == "pages/failing.pdf" && i == 1 {
				wantStatus = "failed"
			}
			if pg.Page != i+1 || pg.Status != wantStatus || (wantStatus == "succeeded") != (len(pg.Fields) > 0 && string(pg.Fields) != "null") {
				t.Errorf("%s page %d: %+v", key, i+1, pg)
			}
		}
		if len(p.Pages) > 1 && r.Status == "succeeded" {
			var page1, page2 any
			_ = json.Unmarshal(p.Pages[0].Fields, &page1)
			_ = json.Unmarshal(p.Pages[1].Fields, &page2)
			if !jsonEqual(r.Fields, page1) || jsonEqual(page1, page2) {
				t.Errorf("%s: fields must be page 1's, and pages differ", key)
			}
		}
	}
	if r := readResult(t, out, "r/pages/failing.pdf.json"); !strings.Contains(r.Error.Message, "page 2") {
		t.Errorf("page_failed names no page: %s", r.Error.Message)
	}

	// Every call was one page the vendor takes: nothing was refused.
	clova, err := s.EmulatorStats(t.Context(), "clova-ocr")
	if err != nil {
		t.Fatal(err)
	}
	nhn, err := s.EmulatorStats(t.Context(), "nhn")
	if err != nil {
		t.Fatal(err)
	}
	// clova: 3 + 3 + 1 + 3 pages, 5 single images, and the 3 direct
	// probes refused above; nhn: 1 + 2 + 1 (beside its key fetch).
	if n := callCount(clova.Calls, "document/"); n != 15+3 || callCount(clova.Calls, "0011") != 3 {
		t.Errorf("clova calls %v, want 15 read and only the 3 probes refused", clova.Calls)
	}
	if n := callCount(nhn.Calls, "credit-card"); n != 4 || callCount(nhn.Calls, "rejected") != 0 {
		t.Errorf("nhn calls %v, want 4, none rejected", nhn.Calls)
	}
	// The batch summary counts pages read and vendor calls: one each per page.
	sum := waitSummary(t, out, layout.SummaryKey("r/", "pages"), int64(len(cases)), time.Minute)
	rc, _, err := out.Get(t.Context(), layout.SummaryKey("r/", "pages"))
	if err != nil {
		t.Fatal(err)
	}
	var counts struct {
		Pages int `json:"pages"`
		Calls int `json:"vendorCalls"`
	}
	err = json.NewDecoder(rc).Decode(&counts)
	rc.Close()
	if err != nil || counts.Pages != 19 || counts.Calls != 19 {
		t.Errorf("summary pages %d vendorCalls %d (%v), want 19 and 19 (%+v)", counts.Pages, counts.Calls, err, sum)
	}
	// Nothing of the per-page progress is left.
	var left []string
	if err := out.List(t.Context(), "r/_ocr/progress/", "", func(o storage.ObjectInfo) error {
		left = append(left, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("saved page answers left: %v", left)
	}
	assertNoSecrets(t, s)
}

// callCount sums the emulator's calls whose outcome contains sub ("": all).
func callCount(calls map[string]int, sub string) int {
	n := 0
	for k, v := range calls {
		if sub == "" || strings.Contains(k, sub) {
			n += v
		}
	}
	return n
}

// clovaDirect sends one image to the CLOVA emulator as the vendor's
// documented JSON body and returns the error code of its answer ("" on
// success).
func clovaDirect(t *testing.T, s *stack.Stack, format string, data []byte) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"version": "V2", "requestId": fmt.Sprintf("direct-%s-%d", format, time.Now().UnixNano()),
		"timestamp": time.Now().UnixMilli(), "images": []map[string]any{{"format": format, "name": "direct", "data": base64.StdEncoding.EncodeToString(data)}}})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.EmulatorURL+"/clova-ocr/document/receipt", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-OCR-SECRET", s.Secrets["CLOVA_OCR_SECRET"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	if resp.StatusCode == http.StatusOK {
		return ""
	}
	return answer.Code
}
