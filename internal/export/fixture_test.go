package export

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/result"
)

// Realistic results, built with the result package's own types so the
// fixtures follow result-v1 exactly as the worker writes it.

func f(v any, text string) *result.Field {
	conf := 0.97
	return &result.Field{Value: v, Text: text, Confidence: &conf, Boxes: [][][2]float64{{{1, 2}, {3, 2}, {3, 4}, {1, 4}}}}
}

func fl(vs ...string) []result.Field {
	out := make([]result.Field, len(vs))
	for i, v := range vs {
		out[i] = *f(v, v)
	}
	return out
}

// withPages is a result with the "pages" array of result-v1.md Pages.
type withPages struct {
	result.Result
	Pages []pageJSON `json:"pages,omitempty"`
}

type pageJSON struct {
	Page   int               `json:"page"`
	Status string            `json:"status"`
	Fields any               `json:"fields"`
	Error  *result.ErrorInfo `json:"error"`
}

func envelope(docType, uri string, fields any) result.Result {
	at := time.Date(2026, 11, 24, 1, 2, 3, 456e6, time.UTC)
	return result.Result{
		Schema: result.Schema, Status: result.StatusSucceeded, DocumentType: docType,
		Source: result.Source{URI: uri, ETag: `"9b2c"`, Size: 183422, Format: "jpg", SHA256: "ab12"},
		Vendor: result.VendorInfo{Name: "clova", Kind: "clova-ocr", Endpoint: "document/receipt", RequestID: "req-1"},
		Batch:  "2026-11-24-receipts", Attempts: 1,
		StartedAt: result.Time{Time: at}, CompletedAt: result.Time{Time: at.Add(556 * time.Millisecond)}, DurationMs: 556,
		Fields: fields,
	}
}

func failed(docType, uri, code string) result.Result {
	r := envelope(docType, uri, nil)
	r.Status = result.StatusFailed
	r.Error = &result.ErrorInfo{Code: code, Message: "the vendor could not read the image", HTTPStatus: 400}
	return r
}

func receiptFields() *result.Receipt {
	return &result.Receipt{
		Store: &result.ReceiptStore{
			Name:   f("이마트 성수점", "이마트 성수점"),
			BizNum: f("206-86-50913", "206-86-50913"),
			Tel:    fl("0234089200"),
		},
		Payment: &result.ReceiptPayment{
			Date:        f("2026-11-20", "2026.11.20"),
			Time:        f("13:45:10", "13:45:10"),
			CardCompany: f("신한카드", "신한카드"),
			CardNumber:  f("5307-12**-****-9012", "5307-12**-****-9012"),
			ConfirmNum:  f("30012345", "30012345"),
		},
		Items: []result.ReceiptItem{
			{Name: f("서울우유 1L", "서울우유 1L"), Code: f("8801115114154", "8801115114154"), Count: f(json.Number("2"), "2"),
				UnitPrice: f(json.Number("2980"), "2,980"), Price: f(json.Number("5960"), "5,960")},
			{Name: f("봉투", "봉투"), Count: f(json.Number("1"), "1"), Price: f(json.Number("100"), "100")},
			{Name: f("할인", "할인"), Price: f(json.Number("-1000"), "-1,000")},
		},
		TotalPrice: f(json.Number("5060"), "5,060"),
	}
}

// sample has one realistic succeeded result per document type.
func sample(docType string) result.Result {
	uri := "s3://ocr-in/" + docType + "/홍길동-001.jpg"
	var fields any
	switch docType {
	case result.TypeReceipt:
		fields = receiptFields()
	case result.TypeCreditCard:
		fields = &result.CreditCard{Number: f("5307-12**-****-9012", "5307 12** **** 9012"), ValidThru: f("11/29", "11/29"), Name: f("HONG GILDONG", "HONG GILDONG")}
	case result.TypeNameCard:
		fields = &result.NameCard{Name: fl("홍길동"), Company: fl("오씨알배치"), Position: fl("팀장"),
			Mobile: fl("01012345678"), Tel: fl("0212345678", "0212345679"), Email: fl("hong@example.com")}
	case result.TypeBizLicense:
		fields = &result.BizLicense{DocumentType: f("사업자등록증", "사업자등록증"), RegisterNumber: f("206-86-50913", "206-86-50913"),
			CompanyName: f("오씨알배치", "(주)오씨알배치"), Representative: f("홍길동", "홍길동"), OpenDate: f("2014-06-09", "2014 년 06 월 09 일"),
			BusinessType: fl("서비스", "도소매"), BusinessItem: fl("소프트웨어")}
	case result.TypeIDCard:
		fields = &result.IDCard{IDType: result.IDResident, Name: f("홍길동", "홍길동"), PersonalNumber: f("800101-1******", "800101-1******"),
			Address: f("서울특별시 성동구", "서울특별시 성동구"), IssueDate: f("2019-03-02", "2019.3.2."), Issuer: f("서울특별시 성동구청장", "서울특별시 성동구청장"),
			Authenticity: &result.Authenticity{Checked: true, Authentic: true}}
	case result.TypeMedicalReceipt:
		conf := 0.91
		fields = &result.MedicalReceipt{
			Cells:     []result.MedicalCell{{Key: "진료비총액", Value: json.Number("45000"), Text: "45,000", Confidence: &conf}, {Key: "환자성명", Value: "홍길동", Text: "홍길동"}},
			Checksums: map[string]result.MedicalChecksum{"total": {Found: true, ValueSum: 45000, TotalSum: 45000}, "copay": {Found: true, ValueSum: 100, TotalSum: 90, Difference: 10}},
		}
	case result.TypePassport:
		fields = &result.Passport{DocumentCode: f("PM", "PM"), IssuingState: f("KOR", "KOR"), Surname: f("HONG", "HONG"), GivenNames: f("GILDONG", "GILDONG"),
			PassportNumber: f("M1234****", "M1234****"), Nationality: f("KOR", "KOR"), BirthDate: f("1980-01-01", "800101"), Sex: f("M", "M"),
			ExpiryDate: f("2030-01-01", "300101"), MRZValid: true}
	case result.TypeFaceCompare:
		fields = &result.FaceCompare{Similarity: 0.93, Match: true, Faces: result.FaceCount{Card: 1, Face: 1}}
	}
	r := envelope(docType, uri, fields)
	if docType == result.TypeFaceCompare {
		r.FaceSource = &result.Source{URI: "s3://ocr-in/faces/홍길동-selfie.jpg", Size: 1000}
	}
	return r
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ") // as stored: pretty-printed is fine, export must not care
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exportCSV writes results through a CSV Writer and parses the output back.
func exportCSV(t *testing.T, opts Options, results ...any) [][]string {
	t.Helper()
	var out strings.Builder
	w, err := NewCSV(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := w.Write(marshal(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return parseCSV(t, out.String())
}

func parseCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(s, bom))).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, s)
	}
	return rows
}

// byName maps a row to its header.
func byName(header, row []string) map[string]string {
	m := make(map[string]string, len(header))
	for i, h := range header {
		m[h] = row[i]
	}
	return m
}

func jsonNumber(s string) any { return json.Number(s) }
