package nhn

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/result"
)

// seedAnswer reads a seed example (testdata/README.md) and encrypts, with
// env, the values the seed marks as encrypted, as they come over the wire.
func seedAnswer(t *testing.T, file string, env *envelope, plain map[string]string) (header, json.RawMessage) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Header header         `json:"header"`
		Result map[string]any `json:"result"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	res := doc.Result
	seal := func(v any) string { return env.encryptValue(v.(string)) }
	if nums, ok := res["cardNums"].([]any); ok {
		for _, n := range nums {
			n.(map[string]any)["value"] = seal(n.(map[string]any)["value"])
		}
		res["totalCardNum"] = seal(res["totalCardNum"])
		vt := res["validThru"].(map[string]any)
		vt["value"] = seal(vt["value"])
	}
	if kvs, ok := res["keyValues"].([]any); ok {
		for _, kv := range kvs {
			m := kv.(map[string]any)
			m["value"] = env.encryptValue(plain[m["key"].(string)])
		}
	}
	raw, _ := json.Marshal(res)
	return doc.Header, raw
}

func TestSeedCreditCard(t *testing.T) {
	env := mustEnvelope(t)
	h, raw := seedAnswer(t, "seed_credit_card.json", env, nil)
	if !h.ok() {
		t.Fatalf("seed header %+v is not a success", h)
	}
	a, err := decryptCreditCard(env, raw)
	if err != nil {
		t.Fatal(err)
	}
	if a.TotalCardNum != "111222233334444" || a.CardNums[2].Value != "3333" || a.ValidThru.Value != "04/19" {
		t.Fatalf("decrypted %+v", a)
	}
	f := a.fields(false)
	if f.Number.Value != "1111-22**-****-4444" || f.Number.Text != "1111-22**-****-4444" {
		t.Errorf("number = %q / %q", f.Number.Value, f.Number.Text)
	}
	if *f.Number.Confidence != 0.87 {
		t.Errorf("number confidence = %v, want the least sure group's 0.87", *f.Number.Confidence)
	}
	if want := [][][2]float64{{{62, 256}, {192, 256}, {192, 301}, {62, 301}}}; !reflect.DeepEqual(f.Number.Boxes, want) {
		t.Errorf("number boxes = %v", f.Number.Boxes)
	}
	if f.ValidThru.Value != "04/19" || *f.ValidThru.Confidence != 0.53 ||
		!reflect.DeepEqual(f.ValidThru.Boxes, [][][2]float64{{{316, 315}, {426, 315}, {426, 347}, {316, 347}}}) {
		t.Errorf("validThru = %+v", f.ValidThru)
	}
	if f.Name != nil {
		t.Error("NHN reads no name; the field must be omitted")
	}
	if pii := a.fields(true); pii.Number.Value != "1111222233334444" || pii.Number.Text != "1111 2222 3333 4444" {
		t.Errorf("pii number = %q / %q", pii.Number.Value, pii.Number.Text)
	}
	rawOut, _ := json.Marshal(a.raw(false))
	for _, leak := range []string{"111222233334444", `"2222"`, `"3333"`} {
		if strings.Contains(string(rawOut), leak) {
			t.Errorf("masked raw holds %s: %s", leak, rawOut)
		}
	}
}

func TestSeedIDCardResident(t *testing.T) {
	env := mustEnvelope(t)
	plain := map[string]string{"name": "홍길동", "residentNumber": "800101-1234567", "issueDate": "2019.01.01", "issuer": "서울특별시 종로구청장"}
	_, raw := seedAnswer(t, "seed_id_card.json", env, plain)
	a, err := decryptIDCard(env, raw)
	if err != nil {
		t.Fatal(err)
	}
	f := a.fields(false)
	if f.IDType != result.IDResident || f.Name.Text != "홍길동" || f.Name.Value != "홍길동" {
		t.Errorf("idType/name = %q %+v", f.IDType, f.Name)
	}
	if *f.Name.Confidence != 0.67 || !reflect.DeepEqual(f.Name.Boxes, [][][2]float64{{{191, 75}, {240, 75}, {240, 95}, {191, 95}}}) {
		t.Errorf("name conf/box = %v %v", *f.Name.Confidence, f.Name.Boxes)
	}
	if f.PersonalNumber.Value != "800101-1******" || f.PersonalNumber.Text != "800101-1******" {
		t.Errorf("personalNumber = %+v", f.PersonalNumber)
	}
	if f.IssueDate.Value != "2019-01-01" || f.IssueDate.Text != "2019.01.01" || f.Issuer.Value != "서울특별시 종로구청장" {
		t.Errorf("issueDate/issuer = %+v %+v", f.IssueDate, f.Issuer)
	}
	if f.LicenseNumber != nil || f.Authenticity != nil {
		t.Error("resident card got driver fields or an authenticity verdict")
	}
	if pii := a.fields(true); pii.PersonalNumber.Value != "800101-1234567" {
		t.Errorf("pii personalNumber = %v", pii.PersonalNumber.Value)
	}
	rawOut, _ := json.Marshal(a.raw(false))
	if strings.Contains(string(rawOut), "1234567") || !strings.Contains(string(rawOut), "800101-1******") {
		t.Errorf("masked raw: %s", rawOut)
	}
}

func TestSeedAuthenticityAndPublicKey(t *testing.T) {
	var auth struct {
		Header header `json:"header"`
		Result struct {
			IsAuthenticity *bool `json:"isAuthenticity"`
		} `json:"result"`
	}
	b, _ := os.ReadFile("testdata/seed_authenticity.json")
	if err := json.Unmarshal(b, &auth); err != nil || !auth.Header.ok() || auth.Result.IsAuthenticity == nil || *auth.Result.IsAuthenticity {
		t.Fatalf("authenticity seed: %v %+v", err, auth)
	}
	var key struct {
		Result struct {
			Version json.RawMessage `json:"version"`
		} `json:"result"`
	}
	b, _ = os.ReadFile("testdata/seed_public_key.json")
	if err := json.Unmarshal(b, &key); err != nil || strings.Trim(string(key.Result.Version), `"`) != "0" {
		t.Fatalf("public key seed: %v %s", err, key.Result.Version)
	}
}

func TestDriverAndPassportFields(t *testing.T) {
	driver := &idCardAnswer{IDType: "driver", KeyValues: []keyValue{
		{Key: "driverLicenseNumber", Value: "11-17-174133-01"}, {Key: "licenseType", Value: "1종보통/2종소형"},
		{Key: "name", Value: "김민준"}, {Key: "residentNumber", Value: "8001011234567"},
		{Key: "condition", Value: "none"}, {Key: "serialNum", Value: "7L3S4Z"},
		{Key: "issueDate", Value: "2019. 6. 1."}, {Key: "issuer", Value: "서울특별시경찰청장"},
	}}
	f := driver.fields(false)
	if f.LicenseNumber.Value != "11-17-******-01" || f.LicenseNumber.Text != "11-17-******-01" {
		t.Errorf("licenseNumber = %+v", f.LicenseNumber)
	}
	if f.PersonalNumber.Value != "800101-1******" || f.Condition != nil || f.IssueDate.Value != "2019-06-01" || f.SerialNumber.Value != "7L3S4Z" {
		t.Errorf("driver fields = %+v %+v %+v", f.PersonalNumber, f.Condition, f.IssueDate)
	}
	check, err := driver.authenticityRequest()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"name": "김민준", "residentNumber": "8001011", "driverLicenseNumber": "111717413301", "serialNum": "7L3S4Z"}; !reflect.DeepEqual(check.encrypted, want) {
		t.Errorf("driver authenticity fields = %v", check.encrypted)
	}

	passport := &idCardAnswer{IDType: "passport", KeyValues: []keyValue{
		{Key: "passportNo", Value: "m12345678"}, {Key: "surName", Value: "KIM"}, {Key: "givenName", Value: "MINJUN"},
		{Key: "dateOfBirth", Value: "01 JAN 1980"}, {Key: "dateOfBirthYMD", Value: "19800101"},
		{Key: "dateOfIssue", Value: "09 JUN 2014"}, {Key: "dateOfIssueYMD", Value: "20140609"},
		{Key: "dateOfExpiry", Value: "09 JUN 2024"}, {Key: "dateOfExpiryYMD", Value: "20240609"},
		{Key: "koreanName", Value: "김민준"}, {Key: "personalNo", Value: "1234567"},
	}}
	p := passport.fields(false)
	if p.PassportNumber.Value != "M123*****" || p.BirthDate.Value != "1980-01-01" || p.BirthDate.Text != "01 JAN 1980" ||
		p.ExpiryDate.Value != "2024-06-09" || p.KoreanName.Value != "김민준" {
		t.Errorf("passport fields = %+v %+v %+v", p.PassportNumber, p.BirthDate, p.ExpiryDate)
	}
	if strings.Contains(p.PersonalNumber.Text, "1234567") {
		t.Error("passport personalNo not masked")
	}
	pc, err := passport.authenticityRequest()
	if err != nil {
		t.Fatal(err)
	}
	if pc.encrypted["passportNumber"] != "M12345678" || pc.encrypted["birthDate"] != "19800101" ||
		pc.encrypted["issueDate"] != "20140609" || pc.plain["expirationDate"] != "20240609" || pc.plain["idType"] != "passport" {
		t.Errorf("passport authenticity = %v %v", pc.encrypted, pc.plain)
	}

	incomplete := &idCardAnswer{IDType: "resident", KeyValues: []keyValue{{Key: "name", Value: "김민준"}}}
	if _, err := incomplete.authenticityRequest(); err == nil || strings.Contains(err.Error(), "김민준") {
		t.Errorf("incomplete resident: %v", err)
	}
}

func TestValidThru(t *testing.T) {
	for in, want := range map[string]string{"04/19": "04/19", "0419": "04/19", "04/2019": "04/19", "13/19": "", "4/19": ""} {
		got, ok := validThru(in)
		if got != want || ok != (want != "") {
			t.Errorf("validThru(%q) = %q, %v", in, got, ok)
		}
	}
}

// FuzzAnswers feeds arbitrary results to the parsers and normalizers,
// with two values the fuzzer picks sealed wherever the result says $1 or
// $2: they must never panic, and no error (of decrypting, or of building
// the authenticity request) may hold a decrypted value.
func FuzzAnswers(f *testing.F) {
	env := &envelope{}
	copy(env.key[:], "0123456789abcdef0123456789abcdef")
	env.block, _ = newCipherForTest(env.key[:])
	for _, file := range []string{"seed_credit_card.json", "seed_id_card.json"} {
		b, _ := os.ReadFile("testdata/" + file)
		var doc struct {
			Result json.RawMessage `json:"result"`
		}
		_ = json.Unmarshal(b, &doc)
		f.Add([]byte(doc.Result), "김민준", "800101-1234567")
	}
	// A value that decrypts, then one that does not: the error must not
	// carry the first along.
	f.Add([]byte(`{"totalCardNum":"$1","cardNums":[{"value":"$1"},{"value":"not base64"}],"validThru":{"value":"$2"}}`), "5307-1234-5678-9012", "04/29")
	f.Add([]byte(`{"idType":"driver","keyValues":[{"key":"name","value":"$1"},{"key":"residentNumber","value":"$2"},{"key":"driverLicenseNumber","value":"AAAA"}]}`), "김민준", "800101-1234567")
	// Decrypted, but the authenticity request lacks a field.
	f.Add([]byte(`{"idType":"resident","keyValues":[{"key":"name","value":"$1"},{"key":"residentNumber","value":"$2"}]}`), "김민준", "800101-1234567")
	f.Add([]byte(`{"idType":"resident","keyValues":[{"key":"name","value":"$1"},{"key":"residentNumber","value":"$2"},{"key":"issueDate","value":"$1"}]}`), "2019.11.05", "8001011234567")
	f.Add([]byte(`{"idType":"passport","keyValues":[{"key":"koreanName","value":"$1"},{"key":"passportNo","value":"$2"}]}`), "홍길동", "M12345678")
	f.Add([]byte(`{"idType":"alien","keyValues":[{"key":"name","value":"$1"},{"key":"personalNo","value":"$2"}]}`), "Émile", "900101-5234567")
	f.Fuzz(func(t *testing.T, tmpl []byte, v1, v2 string) {
		raw := bytes.ReplaceAll(tmpl, []byte("$1"), []byte(env.encryptValue(v1)))
		raw = bytes.ReplaceAll(raw, []byte("$2"), []byte(env.encryptValue(v2)))
		var errs []error
		if a, err := decryptCreditCard(env, raw); err != nil {
			errs = append(errs, err)
		} else {
			_ = a.fields(false)
			_ = a.fields(true)
			_, _ = json.Marshal(a.raw(false))
		}
		if a, err := decryptIDCard(env, raw); err != nil {
			errs = append(errs, err)
		} else {
			_ = a.fields(false)
			_, _ = json.Marshal(a.raw(false))
			if _, err := a.authenticityRequest(); err != nil {
				errs = append(errs, err)
			}
		}
		for _, v := range []string{v1, v2} {
			for _, form := range identifying(v) {
				for _, err := range errs {
					if strings.Contains(err.Error(), form) {
						t.Fatalf("error %q holds the decrypted value %q", err, v)
					}
				}
			}
		}
	})
}

// identifying returns the forms of a decrypted value that no error of ours
// can hold by chance, so finding one in an error means the value leaked.
// Our error texts are ASCII and never hold six digits, so: the value
// itself when it holds a byte beyond ASCII (a name) or six digits or more
// (a personal or card number), and then also its digits alone (the number
// as the authenticity request writes it).
func identifying(v string) []string {
	d := normalize.Digits(v)
	if len(d) >= 6 {
		return []string{v, d}
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			return []string{v}
		}
	}
	return nil
}
