package export

import (
	"slices"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/result"
)

func TestCSVReceiptRowHoldsTheResultsValues(t *testing.T) {
	rows := exportCSV(t, Options{}, sample(result.TypeReceipt), failed(result.TypeReceipt, "s3://ocr-in/r/bad.jpg", "invalid_image"))

	want := []string{"source_uri", "page", "status", "error_code", "store_name", "business_number", "date", "time",
		"total", "card_company", "card_number", "confirm_number", "item_count"}
	if !slices.Equal(rows[0], want) {
		t.Fatalf("header = %q\nwant     %q", rows[0], want)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want header + 2", len(rows))
	}
	got := byName(rows[0], rows[1])
	for col, v := range map[string]string{
		"source_uri": "s3://ocr-in/receipt/홍길동-001.jpg", "page": "", "status": "succeeded", "error_code": "",
		"store_name": "이마트 성수점", "business_number": "206-86-50913", "date": "2026-11-20", "time": "13:45:10",
		"total": "5060", "card_company": "신한카드", "card_number": "5307-12**-****-9012", "confirm_number": "30012345",
		"item_count": "3",
	} {
		if got[col] != v {
			t.Errorf("%s = %q, want %q", col, got[col], v)
		}
	}
	bad := byName(rows[0], rows[2])
	if bad["status"] != "failed" || bad["error_code"] != "invalid_image" || bad["source_uri"] != "s3://ocr-in/r/bad.jpg" {
		t.Errorf("failed row = %v", bad)
	}
	for _, col := range want[4:] {
		if bad[col] != "" {
			t.Errorf("failed row: %s = %q, want empty", col, bad[col])
		}
	}
}

func TestCSVEveryTypeHasAColumnSetAndFillsIt(t *testing.T) {
	// One column that must carry each type's defining value, as the result holds it.
	key := map[string][2]string{
		result.TypeReceipt:        {"card_number", "5307-12**-****-9012"},
		result.TypeCreditCard:     {"card_number", "5307-12**-****-9012"},
		result.TypeNameCard:       {"tel", "0212345678; 0212345679"},
		result.TypeBizLicense:     {"business_type", "서비스; 도소매"},
		result.TypeIDCard:         {"personal_number", "800101-1******"},
		result.TypeMedicalReceipt: {"checksum_mismatches", "copay"},
		result.TypePassport:       {"mrz_valid", "true"},
		result.TypeFaceCompare:    {"face_uri", "s3://ocr-in/faces/홍길동-selfie.jpg"},
	}
	for _, docType := range result.DocumentTypes {
		t.Run(docType, func(t *testing.T) {
			rows := exportCSV(t, Options{Type: docType}, sample(docType), failed(docType, "s3://b/x.jpg", "vendor_rejected"))
			cols, ok := Columns(docType, false)
			if !ok || !slices.Equal(rows[0], cols) {
				t.Fatalf("header = %q, Columns = %q", rows[0], cols)
			}
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
			k := key[docType]
			if got := byName(rows[0], rows[1])[k[0]]; got != k[1] {
				t.Errorf("%s = %q, want %q", k[0], got, k[1])
			}
			if got := byName(rows[0], rows[2]); got["status"] != "failed" || got["error_code"] != "vendor_rejected" {
				t.Errorf("failed row = %v", got)
			}
		})
	}
}

func TestCSVIDCardAndFaceCompareDetails(t *testing.T) {
	rows := exportCSV(t, Options{}, sample(result.TypeIDCard))
	got := byName(rows[0], rows[1])
	if got["id_type"] != "resident" || got["authenticity_checked"] != "true" || got["authentic"] != "true" || got["license_number"] != "" {
		t.Errorf("id-card row = %v", got)
	}
	rows = exportCSV(t, Options{}, sample(result.TypeFaceCompare))
	got = byName(rows[0], rows[1])
	if got["similarity"] != "0.93" || got["match"] != "true" || got["faces_card"] != "1" {
		t.Errorf("face-compare row = %v", got)
	}
}

func TestCSVEscapesFormulaCells(t *testing.T) {
	r := receiptFields()
	r.Store.Name = f("=HYPERLINK(\"http://x\",\"y\")", "=HYPERLINK")
	r.Store.BizNum = f("+1-2", "+1-2")
	r.Payment.CardCompany = f("@SUM(A1)", "@SUM(A1)")
	r.Payment.ConfirmNum = f("\t=1", "\t=1")
	r.Payment.Date = f("\r=1", "\r=1")
	r.Payment.Time = f("-2+3+cmd|' /C calc'!A0", "")
	r.TotalPrice = f(jsonNumber("-1000"), "-1,000") // a refund: a JSON number
	res := envelope(result.TypeReceipt, "s3://b/=cmd.jpg", r)

	got := byName(exportCSV(t, Options{}, res)[0], exportCSV(t, Options{}, res)[1])
	for col, want := range map[string]string{
		"store_name":      "'=HYPERLINK(\"http://x\",\"y\")",
		"business_number": "'+1-2",
		"card_company":    "'@SUM(A1)",
		"confirm_number":  "'\t=1",
		"date":            "'\r=1",
		"time":            "'-2+3+cmd|' /C calc'!A0",
		"total":           "-1000",
		"source_uri":      "s3://b/=cmd.jpg",
	} {
		if got[col] != want {
			t.Errorf("%s = %q, want %q", col, got[col], want)
		}
	}

	// Text that only looks like a number (value did not normalize) is text:
	// escaped like any other.
	r.TotalPrice = &result.Field{Value: nil, Text: "-1000"}
	got = byName(exportCSV(t, Options{}, res)[0], exportCSV(t, Options{}, res)[1])
	if got["total"] != "'-1000" {
		t.Errorf("text total = %q, want %q", got["total"], "'-1000")
	}
}

func TestCSVExcelAddsTheBOMOnlyWhenAsked(t *testing.T) {
	for _, excel := range []bool{false, true} {
		var out strings.Builder
		w, err := NewCSV(&out, Options{Excel: excel})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(marshal(t, sample(result.TypeReceipt))); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if strings.HasPrefix(s, bom) != excel {
			t.Errorf("excel=%v: output starts %q", excel, s[:6])
		}
		if strings.Count(s, bom) > 1 {
			t.Errorf("excel=%v: %d BOMs", excel, strings.Count(s, bom))
		}
		if !strings.Contains(s, "이마트 성수점") {
			t.Errorf("Hangul not written as UTF-8: %q", s)
		}
	}
}

func multiPage() withPages {
	res := envelope(result.TypeReceipt, "s3://ocr-in/scan.pdf", receiptFields())
	res.Status = result.StatusFailed
	res.Error = &result.ErrorInfo{Code: "page_failed", Message: "page 2 failed"}
	second := receiptFields()
	second.Items = second.Items[:1]
	second.TotalPrice = f(jsonNumber("2980"), "2,980")
	return withPages{Result: res, Pages: []pageJSON{
		{Page: 1, Status: result.StatusSucceeded, Fields: receiptFields()},
		{Page: 2, Status: result.StatusFailed, Error: &result.ErrorInfo{Code: "recognition_failed"}},
		{Page: 3, Status: result.StatusSucceeded, Fields: second},
	}}
}

func TestCSVMultiPageSourceGivesOneRowPerPage(t *testing.T) {
	rows := exportCSV(t, Options{}, multiPage())
	if len(rows) != 4 {
		t.Fatalf("%d rows, want header + 3 pages", len(rows))
	}
	want := [][4]string{
		{"1", "succeeded", "", "5060"},
		{"2", "failed", "recognition_failed", ""},
		{"3", "succeeded", "", "2980"},
	}
	for i, w := range want {
		got := byName(rows[0], rows[i+1])
		if got["page"] != w[0] || got["status"] != w[1] || got["error_code"] != w[2] || got["total"] != w[3] || got["source_uri"] != "s3://ocr-in/scan.pdf" {
			t.Errorf("page row %d = %v, want %v", i+1, got, w)
		}
	}
}

func TestCSVItemsRowsKeyedBySource(t *testing.T) {
	noItems := receiptFields()
	noItems.Items = nil
	rows := exportCSV(t, Options{Items: true},
		sample(result.TypeReceipt),
		failed(result.TypeReceipt, "s3://ocr-in/bad.jpg", "invalid_image"),
		envelope(result.TypeReceipt, "s3://ocr-in/empty.jpg", noItems),
		multiPage())

	want := []string{"source_uri", "page", "status", "error_code", "item", "name", "code", "count", "unit_price", "price"}
	if !slices.Equal(rows[0], want) {
		t.Fatalf("header = %q, want %q", rows[0], want)
	}
	// 3 items + 1 failed + 1 without items + pages (3 items, failed page, 1 item).
	if len(rows)-1 != 3+1+1+3+1+1 {
		t.Fatalf("%d item rows, want 10:\n%q", len(rows)-1, rows)
	}
	first := byName(rows[0], rows[1])
	if first["source_uri"] != "s3://ocr-in/receipt/홍길동-001.jpg" || first["item"] != "1" || first["name"] != "서울우유 1L" ||
		first["code"] != "8801115114154" || first["count"] != "2" || first["unit_price"] != "2980" || first["price"] != "5960" {
		t.Errorf("first item row = %v", first)
	}
	if discount := byName(rows[0], rows[3]); discount["price"] != "-1000" || discount["item"] != "3" {
		t.Errorf("discount row = %v (a negative JSON number stays a number)", discount)
	}
	if bad := byName(rows[0], rows[4]); bad["status"] != "failed" || bad["error_code"] != "invalid_image" || bad["item"] != "" {
		t.Errorf("failed document's row = %v", bad)
	}
	if empty := byName(rows[0], rows[5]); empty["source_uri"] != "s3://ocr-in/empty.jpg" || empty["item"] != "" || empty["status"] != "succeeded" {
		t.Errorf("document without items = %v", empty)
	}
	if p := byName(rows[0], rows[9]); p["page"] != "2" || p["error_code"] != "recognition_failed" {
		t.Errorf("failed page row = %v", p)
	}
	if p := byName(rows[0], rows[10]); p["page"] != "3" || p["item"] != "1" {
		t.Errorf("page 3 item row = %v", p)
	}
}

func TestCSVMedicalReceiptCellsAsItems(t *testing.T) {
	rows := exportCSV(t, Options{Items: true}, sample(result.TypeMedicalReceipt))
	if len(rows) != 3 {
		t.Fatalf("%d rows, want header + 2 cells", len(rows))
	}
	c := byName(rows[0], rows[1])
	if c["key"] != "진료비총액" || c["value"] != "45000" || c["confidence"] != "0.91" {
		t.Errorf("cell row = %v", c)
	}
}

func TestCSVItemsOfATypeWithoutItemsIsAnError(t *testing.T) {
	_, err := NewCSV(&strings.Builder{}, Options{Type: result.TypeIDCard, Items: true})
	if err == nil || !strings.Contains(err.Error(), "id-card") {
		t.Fatalf("err = %v, want one naming id-card", err)
	}
	w, _ := NewCSV(&strings.Builder{}, Options{Items: true})
	if err := w.Write(marshal(t, sample(result.TypePassport))); err == nil || !strings.Contains(err.Error(), "passport") {
		t.Fatalf("err = %v, want one naming passport", err)
	}
}

func TestCSVMixedTypesIsAnErrorNamingBoth(t *testing.T) {
	var out strings.Builder
	w, _ := NewCSV(&out, Options{})
	if err := w.Write(marshal(t, sample(result.TypeReceipt))); err != nil {
		t.Fatal(err)
	}
	err := w.Write(marshal(t, sample(result.TypeIDCard)))
	if err == nil || !strings.Contains(err.Error(), "id-card") || !strings.Contains(err.Error(), "receipt") {
		t.Fatalf("err = %v, want one naming id-card and receipt", err)
	}
	if strings.Contains(err.Error(), "홍길동") || strings.Contains(err.Error(), "s3://") {
		t.Errorf("error names the source: %v", err)
	}
}

func TestCSVTypeFilterSkipsAndCountsOtherTypes(t *testing.T) {
	var out strings.Builder
	w, _ := NewCSV(&out, Options{Type: result.TypeReceipt})
	for _, r := range []any{sample(result.TypeIDCard), sample(result.TypeReceipt), sample(result.TypeIDCard)} {
		if err := w.Write(marshal(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	st := w.Stats()
	if st.Results != 1 || st.Rows != 1 || st.Skipped[result.TypeIDCard] != 2 {
		t.Errorf("stats = %+v", st)
	}
	if rows := parseCSV(t, out.String()); len(rows) != 2 {
		t.Errorf("%d rows, want header + 1", len(rows))
	}
}

func TestCSVOfAKnownTypeWithoutResultsHasItsHeader(t *testing.T) {
	var out strings.Builder
	w, _ := NewCSV(&out, Options{Type: result.TypePassport})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if rows := parseCSV(t, out.String()); len(rows) != 1 || rows[0][0] != "source_uri" {
		t.Errorf("rows = %q", rows)
	}
}

func TestCSVRejectsWhatIsNotAResult(t *testing.T) {
	w, _ := NewCSV(&strings.Builder{}, Options{})
	for _, in := range []string{`[1,2]`, `{"schema":"other/v2","documentType":"receipt"}`, `{"schema":"ocr-result/v1","documentType":"selfie"}`} {
		if err := w.Write([]byte(in)); err == nil || !strings.Contains(err.Error(), "result 1") {
			t.Errorf("%s: err = %v", in, err)
		}
		w.(*csvWriter).n = 0
	}
}
