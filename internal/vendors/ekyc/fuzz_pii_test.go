package ekyc

import (
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// FuzzMaskedFreeText: every string of the seed answers carries a resident
// or card number in one of its spellings; in masked mode neither the fields
// nor the raw copy may hold it whole.
func FuzzMaskedFreeText(f *testing.F) {
	type seedDoc struct {
		docType, file string
		answer        []byte
	}
	seeds := []seedDoc{{result.TypeBizLicense, "seed_bizlicense.json", nil}, {result.TypeIDCard, "seed_idcard.json", nil},
		{result.TypeFaceCompare, "seed_facecompare.json", nil}}
	for i := range seeds {
		seeds[i].answer = golden(f, seeds[i].file)
	}
	c := newClient(f, Options{URL: "https://x", Secret: "s"})
	for kind := range 18 {
		for i := range seeds {
			f.Add("주민 ", " 외래", uint8(kind), uint64(len(seeds)*kind*7919+i))
		}
	}
	f.Fuzz(func(t *testing.T, prefix, suffix string, kind uint8, seed uint64) {
		text, digits := vendortest.PIIText(prefix, suffix, kind, seed)
		doc := seeds[seed%uint64(len(seeds))]
		data, err := vendortest.InjectText(doc.answer, text, func(k string) bool { return k == "inferResult" || k == "result" })
		if err != nil {
			t.Fatal(err)
		}
		req := &vendors.Request{DocumentType: doc.docType, KeepRaw: true}
		var resp *vendors.Response
		if doc.docType == result.TypeFaceCompare {
			resp, err = c.compareResponse(data, req)
		} else {
			resp, err = documentResponse(data, req)
		}
		if err != nil {
			t.Fatalf("%s: answer not read: %v", doc.file, err)
		}
		vendortest.AssertMasked(t, doc.docType, resp, digits)
	})
}
