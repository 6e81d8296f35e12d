package clovaocr

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// FuzzMaskedFreeText: every string of every seed answer carries a resident
// or card number in one of its spellings; in masked mode neither the
// normalized fields nor the raw copy may hold it whole.
func FuzzMaskedFreeText(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	type seedDoc struct {
		docType string
		answer  []byte
	}
	var seeds []seedDoc
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if json.Valid(b) { // the verbatim copy of a seed is not JSON
			dt := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(file), ".json"), "-2026")
			seeds = append(seeds, seedDoc{dt, vendortest.WithoutBoxes(b)})
		}
	}
	for i := range seeds { // every answer, with each spelling
		for kind := range 18 {
			f.Add("주민 ", " 외래", uint8(kind), uint64(len(seeds)*(kind*7919)+i))
		}
	}
	f.Add("주민등록번호", "외래", uint8(0), uint64(800101))
	f.Add("카드번호", "승인", uint8(1), uint64(12345))
	f.Add("", "", uint8(4), uint64(991231))
	f.Add("환자 12-", "5", uint8(13), uint64(7))
	f.Fuzz(func(t *testing.T, prefix, suffix string, kind uint8, seed uint64) {
		text, digits := vendortest.PIIText(prefix, suffix, kind, seed)
		// One seed answer per input keeps executions fast; the fuzzer
		// varies seed, so every answer is covered.
		doc := seeds[seed%uint64(len(seeds))]
		data, err := vendortest.InjectText(doc.answer, text, func(k string) bool { return k == "inferResult" })
		if err != nil {
			t.Fatal(err)
		}
		resp := &vendors.Response{}
		if fields, _, err := Parse(doc.docType, data, ParseOptions{Now: testNow}); err == nil {
			resp.Fields = fields
		} else {
			t.Fatalf("%s: answer not parsed: %v", doc.docType, err) // the injection must keep answers readable
		}
		if resp.Raw, err = RawForStorage(data, false); err != nil {
			t.Fatal(err)
		}
		vendortest.AssertMasked(t, doc.docType, resp, digits)
	})
}
