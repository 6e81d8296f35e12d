package clovaocr

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/vendortest"
)

// testdata/*.json are the response examples of the seed pages, copied as
// published (002: all seven types; 004: the 2026 id-card page). The 2026
// example has a trailing comma (invalid JSON); id-card-2026.verbatim.json
// keeps it, id-card-2026.json has it removed.

var testNow = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func seed(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseJSON(t *testing.T, docType, file string, pii bool) any {
	t.Helper()
	fields, uid, err := Parse(docType, seed(t, file), ParseOptions{PII: pii, Now: testNow})
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	if uid == "" {
		t.Errorf("no uid")
	}
	b, _ := json.Marshal(fields)
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

func check(t *testing.T, v any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		got, ok := vendortest.Lookup(v, path)
		if !ok {
			t.Errorf("%s missing", path)
			continue
		}
		wb, _ := json.Marshal(w)
		gb, _ := json.Marshal(got)
		if string(wb) != string(gb) {
			t.Errorf("%s = %s; want %s", path, gb, wb)
		}
	}
}

func TestGoldenReceipt(t *testing.T) {
	v := parseJSON(t, result.TypeReceipt, "receipt.json", false)
	check(t, v, map[string]any{
		"store.name.value":          "emart everyday",
		"store.subName.value":       "분당정지2점",
		"store.bizNum.value":        "212-81-25544",
		"store.address.0.value":     "경기 성남시분당구 정자일로 120",
		"store.tel.0.value":         "0317861171",
		"store.tel.0.text":          "(031)786-1171",
		"payment.date.value":        "2020-04-16",
		"payment.time.value":        "20:11:00",
		"payment.time.text":         "20: 11",
		"payment.cardCompany.value": "신한",
		"payment.cardNumber.value":  "422*****66",
		"payment.confirmNum.value":  "28672931",
		"items.0.name.value":        "씨그램 레몬350ml",
		"items.0.count.value":       2,
		"items.0.price.value":       1600,
		"items.0.price.text":        "1,600",
		"items.0.unitPrice.value":   800,
		"totalPrice.value":          1600,
		"store.name.boxes.0":        [][2]float64{{263, 96}, {390, 100}, {389, 141}, {262, 137}},
	})
}

func TestGoldenCreditCard(t *testing.T) {
	v := parseJSON(t, result.TypeCreditCard, "credit-card.json", false)
	check(t, v, map[string]any{
		"number.value":      "5307-12**-****-9012",
		"number.text":       "5307-12**-****-9012",
		"number.confidence": 0.96435016,
	})
	if b, _ := json.Marshal(v); strings.Contains(string(b), "345674") {
		t.Errorf("masked card still shows the middle digits: %s", b)
	}
	v = parseJSON(t, result.TypeCreditCard, "credit-card.json", true)
	check(t, v, map[string]any{"number.value": "5307123456749012", "number.text": "5307123456749012"})
}

func TestGoldenNameCard(t *testing.T) {
	v := parseJSON(t, result.TypeNameCard, "name-card.json", false)
	check(t, v, map[string]any{
		"name.0.value":     "홍길동",
		"company.0.value":  "우리은행",
		"position.0.value": "소장",
		"mobile.0.value":   "01012345678",
		"tel.0.value":      "12345678901",
		"address.0.text":   "(홍길동)",
	})
	if _, ok := vendortest.Lookup(v, "fax"); ok {
		t.Error("empty fax list not omitted")
	}
}

func TestGoldenBizLicense(t *testing.T) {
	v := parseJSON(t, result.TypeBizLicense, "biz-license.json", false)
	check(t, v, map[string]any{
		"documentType.value":    "사업자등록증",
		"registerNumber.value":  "611-01-99810",
		"companyName.value":     "동성자동차종합정비",
		"representative.value":  "김영두",
		"birthDate.value":       "1951-12-03",
		"birthDate.text":        "1951 년 12 03 일",
		"openDate.value":        "2014-06-09",
		"issuanceDate.value":    "2017-06-29",
		"businessAddress.value": "경상남도 사천시 사천용 보공로 54",
		"businessType.0.value":  "부동산업 및 임대업",
		"businessItem.0.value":  "비주거용 건물 임대업(점포, 자기자)",
		"taxType.value":         "일반과세자",
	})
	if _, ok := vendortest.Lookup(v, "area"); ok {
		t.Error("empty bisArea not omitted")
	}
}

func TestGoldenIDCard(t *testing.T) {
	v := parseJSON(t, result.TypeIDCard, "id-card.json", false)
	check(t, v, map[string]any{
		"idType":               "resident",
		"name.value":           "소닉",
		"personalNumber.value": "910623-1******",
		"personalNumber.text":  "910623-1******",
		"issueDate.value":      "2011-03-06",
		"issueDate.text":       "2011.3. 6.",
		"issuer.value":         "소닉대통령추진회 소덕회장",
	})
	if b, _ := json.Marshal(v); strings.Contains(string(b), "1062372") {
		t.Errorf("back part of the resident number leaked: %s", b)
	}
	v = parseJSON(t, result.TypeIDCard, "id-card.json", true)
	check(t, v, map[string]any{"personalNumber.value": "910623-1062372"})
}

func TestGoldenIDCard2026(t *testing.T) {
	v := parseJSON(t, result.TypeIDCard, "id-card-2026.json", false)
	check(t, v, map[string]any{
		"idType":               "resident",
		"name.text":            "홍**",
		"personalNumber.value": "800***-2******",
		"address.value":        "서울특별시 ***",
		"issueDate.value":      "2020-08-16",
		"issuer.value":         "서울특별시 **구청장",
		"issuer.text":          "서울특별시 **구청장 **",
	})
	// confidenceScore 0.0 means "not scored": omitted, not stored as 0.
	if _, ok := vendortest.Lookup(v, "name.confidence"); ok {
		t.Error("confidenceScore 0.0 kept")
	}
	// As published, the example is not valid JSON: an unreadable answer.
	_, _, err := Parse(result.TypeIDCard, seed(t, "id-card-2026.verbatim.json"), ParseOptions{})
	if e, ok := ocrerr.As(err); !ok || e.Code != ocrerr.InvalidResponse || !e.Retryable {
		t.Errorf("verbatim 2026 example: err = %v", err)
	}
}

func TestGoldenMedicalReceipt(t *testing.T) {
	v := parseJSON(t, result.TypeMedicalReceipt, "medical-receipt.json", false)
	check(t, v, map[string]any{
		"cells.0.key":                      "선택항목|비급여|계",
		"cells.0.value":                    53435,
		"cells.0.text":                     "53435",
		"cells.0.confidence":               0.9542916,
		"checksums.totalAmount":            map[string]any{"found": true, "valueSum": 0, "totalSum": 1541717, "difference": 1541717},
		"checksums.sumPaidByPatient.found": false,
	})
}

func TestGoldenPassport(t *testing.T) {
	v := parseJSON(t, result.TypePassport, "passport.json", false)
	// The seed's MRZ lines are 46 characters (not TD3), so the vendor's own
	// fields are used and the MRZ is not valid.
	check(t, v, map[string]any{
		"documentCode.value":   "P", // the vendor field says "P<"
		"issuingState.value":   "KOR",
		"surname.value":        "HONG",
		"givenNames.value":     "GILSOON",
		"passportNumber.value": "M123*****",
		"passportNumber.text":  "M123*****",
		"nationality.value":    "KOR",
		"birthDate.value":      "1987-02-01",
		"sex.value":            "F",
		"expiryDate.value":     "2030-08-15",
		"personalNumber.value": "**************",
		"mrzValid":             false,
		"expired":              false,
	})
}

func TestParseFailures(t *testing.T) {
	failure := []byte(`{"version":"V2","requestId":"1234","timestamp":1725235840459,"images":[{"uid":"u","name":"idcard_sample","inferResult":"ERROR","message":"Read page:0 error.","validationResult":{"result":"NO_REQUESTED"}}]}`)
	_, uid, err := Parse(result.TypeIDCard, failure, ParseOptions{})
	e, ok := ocrerr.As(err)
	if !ok || e.Code != ocrerr.RecognitionFailed || e.Retryable || e.VendorCode != "ERROR" || uid != "u" {
		t.Errorf("ERROR answer: %v", err)
	}
	whole := seed(t, "receipt.json")
	for name, body := range map[string][]byte{
		"truncated": whole[:len(whole)/2],
		"html":      []byte("<html>bad gateway</html>"),
		"no images": []byte(`{"images":[]}`),
	} {
		_, _, err := Parse(result.TypeReceipt, body, ParseOptions{})
		e, ok := ocrerr.As(err)
		if !ok || e.Code != ocrerr.InvalidResponse || !e.Retryable {
			t.Errorf("%s: err = %v", name, err)
			continue
		}
		if strings.Contains(e.Error(), "emart") || strings.Contains(e.Error(), "212-81") {
			t.Errorf("%s: error quotes the body: %v", name, e)
		}
	}
}

func TestRawForStorageMasks(t *testing.T) {
	for _, f := range []string{"id-card.json", "credit-card.json", "passport.json"} {
		raw, err := RawForStorage(seed(t, f), false)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"1062372", "5307123456749012", "M123A4567", "V2000000000000"} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("%s: masked raw holds %q", f, secret)
			}
		}
	}
	raw, _ := RawForStorage(seed(t, "id-card.json"), true)
	if !strings.Contains(string(raw), "910623-1062372") {
		t.Error("pii raw was masked")
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	// Whatever the answer, Parse gives a classified error or the fields
	// struct of the type, which marshals and reads back as results are read
	// (remask, export); a raw copy it keeps is JSON.
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dt := range Types {
			fields, _, err := Parse(dt, data, ParseOptions{Now: testNow})
			if err != nil {
				if _, ok := ocrerr.As(err); !ok {
					t.Fatalf("unclassified error %v", err)
				}
				continue
			}
			if want := vendors.FieldsType(dt); reflect.TypeOf(fields) != reflect.TypeOf(want) {
				t.Fatalf("%s: fields are %T, want %T", dt, fields, want)
			}
			b, err := json.Marshal(fields)
			if err != nil {
				t.Fatalf("fields do not marshal: %v", err)
			}
			if err := json.Unmarshal(b, vendors.FieldsType(dt)); err != nil {
				t.Fatalf("%s: fields do not read back: %v\n%s", dt, err, b)
			}
		}
		if raw, err := RawForStorage(data, false); err == nil && !json.Valid(raw) {
			t.Fatalf("raw copy is not JSON: %s", raw)
		}
	})
}
