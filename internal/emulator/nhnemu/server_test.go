package nhnemu

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"image"
	pngenc "image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
)

const (
	appKey = "ak"
	secret = "sk"
)

// A minimal client written from the seed, for driving the emulator.

type clientKey struct {
	pub     *rsa.PublicKey
	version string
}

type wireAnswer struct {
	Header header          `json:"header"`
	Result json.RawMessage `json:"result"`
}

func newServer(t *testing.T, o Options) *Server {
	t.Helper()
	o.AppKey, o.Secret = appKey, secret
	if o.KeyBits == 0 {
		o.KeyBits = 1024
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, s *Server, r *http.Request) (*httptest.ResponseRecorder, wireAnswer) {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var a wireAnswer
	_ = json.Unmarshal(w.Body.Bytes(), &a)
	return w, a
}

func fetchKey(t *testing.T, s *Server, service string) clientKey {
	t.Helper()
	r := httptest.NewRequest("GET", "/v2.0/appkeys/"+appKey+"/public-keys/"+service, nil)
	r.Header.Set("Authorization", secret)
	_, a := do(t, s, r)
	var k struct{ Key, Version string }
	if err := json.Unmarshal(a.Result, &k); err != nil || !a.Header.IsSuccessful {
		t.Fatalf("public key: %+v %v", a.Header, err)
	}
	der, _ := base64.StdEncoding.DecodeString(k.Key)
	var pub *rsa.PublicKey
	if p, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub = p.(*rsa.PublicKey)
	} else if pub, err = x509.ParsePKCS1PublicKey(der); err != nil {
		t.Fatal("public key is neither SPKI nor PKCS1")
	}
	return clientKey{pub, k.Version}
}

func aesCBC(key, plain []byte) []byte {
	block, _ := aes.NewCipher(key)
	p := 16 - len(plain)%16
	buf := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(p)}, p)...)
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(buf, buf)
	return buf
}

type call struct {
	path        string
	key         []byte // symmetric key; random if nil
	k           clientKey
	image       []byte // plaintext image, encrypted unless rawPart
	rawPart     []byte // sent as is in the image part
	noImage     bool
	contentType string
	body        []byte
	headers     map[string]string // override/delete ("" deletes)
}

func (c call) request(t *testing.T) *http.Request {
	t.Helper()
	if c.key == nil {
		c.key = make([]byte, 32)
		_, _ = rand.Read(c.key)
	}
	sealed, err := rsa.EncryptPKCS1v15(rand.Reader, c.k.pub, c.key)
	if err != nil {
		t.Fatal(err)
	}
	body, ctype := c.body, c.contentType
	if body == nil {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if !c.noImage {
			part, _ := mw.CreateFormFile("image", "image.png")
			if c.rawPart != nil {
				part.Write(c.rawPart)
			} else {
				part.Write(aesCBC(c.key, c.image))
			}
		}
		mw.Close()
		body, ctype = buf.Bytes(), mw.FormDataContentType()
	}
	r := httptest.NewRequest("POST", "/v2.0/appkeys/"+appKey+"/"+c.path, bytes.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	r.Header.Set("Authorization", secret)
	r.Header.Set("X-Key-Version", c.k.version)
	r.Header.Set("Symmetric-Key", base64.StdEncoding.EncodeToString(sealed))
	for k, v := range c.headers {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	return r
}

// png is a real 8x8 PNG that differs per seed, with extra after IEND.
func png(seed int, extra ...byte) []byte {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(seed*31 + i)
	}
	var buf bytes.Buffer
	if err := pngenc.Encode(&buf, img); err != nil {
		panic(err)
	}
	return append(buf.Bytes(), extra...)
}

func decryptField(t *testing.T, key []byte, v string) string {
	t.Helper()
	s, err := decryptValue(key, v)
	if err != nil {
		t.Fatalf("wireAnswer value does not decrypt with the request key: %v", err)
	}
	return s
}

func TestCreditCardSuccess(t *testing.T) {
	s := newServer(t, Options{})
	k := fetchKey(t, s, ServiceCreditCard)
	key := bytes.Repeat([]byte{7}, 32)
	img := png(1)
	w, a := do(t, s, call{path: "credit-card", k: k, key: key, image: img}.request(t))
	if w.Code != 200 || !a.Header.IsSuccessful || a.Header.ResultCode != 0 {
		t.Fatalf("wireAnswer %d %+v", w.Code, a.Header)
	}
	var res creditCardResult
	if err := json.Unmarshal(a.Result, &res); err != nil {
		t.Fatal(err)
	}
	d := emulator.Derive(img)
	if got := decryptField(t, key, res.TotalCardNum); got != d.CardNumber {
		t.Errorf("totalCardNum = %s", got)
	}
	var groups string
	for _, g := range res.CardNums {
		groups += decryptField(t, key, g.Value)
	}
	if groups != d.CardNumber || len(res.CardNumBoxes) != 4 || res.FileType != "png" || res.Resolution != "low" {
		t.Errorf("cardNums %s boxes %d fileType %s", groups, len(res.CardNumBoxes), res.FileType)
	}
	if got := decryptField(t, key, res.ValidThru.Value); got != d.ValidThru {
		t.Errorf("validThru = %s", got)
	}
	if strings.Contains(w.Body.String(), d.CardNumber) {
		t.Error("card number in the clear on the wire")
	}
}

func TestIDCardAndAuthenticity(t *testing.T) {
	s := newServer(t, Options{})
	k := fetchKey(t, s, ServiceIDCard)
	for _, tc := range []struct {
		idType    string
		extra     []byte
		authentic bool
		tamper    string // a field sent wrong
	}{
		{"resident", nil, true, ""},
		{"driver", MarkerDriver, true, ""},
		{"passport", MarkerPassport, true, ""},
		{"resident", emulator.MarkerNotAuthentic, false, ""},
		{"resident", nil, false, "name"},
	} {
		img := png(2, tc.extra...)
		d := emulator.Derive(img)
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		w, a := do(t, s, call{path: "id-card", k: k, key: key, image: img}.request(t))
		rk := w.Header().Get("Request-Key")
		var res idCardResult
		_ = json.Unmarshal(a.Result, &res)
		if !a.Header.IsSuccessful || rk == "" || res.IDType != tc.idType {
			t.Fatalf("%s: id-card %+v requestKey %q idType %q", tc.idType, a.Header, rk, res.IDType)
		}
		values := map[string]string{}
		for _, kv := range res.KeyValues {
			values[kv.Key] = decryptField(t, key, kv.Value)
		}
		if values["name"] != d.Name && values["koreanName"] != d.Name {
			t.Errorf("%s: name not Derive's: %v", tc.idType, values)
		}
		fields := expectedFields(d, tc.idType)
		body := map[string]string{"idType": tc.idType}
		key2 := make([]byte, 32)
		_, _ = rand.Read(key2)
		for _, rule := range authFields[tc.idType] {
			v := fields[rule.name][0]
			if rule.name == tc.tamper {
				v += "x"
			}
			if rule.encrypted {
				v = encryptValue(key2, v)
			}
			body[rule.name] = v
		}
		b, _ := json.Marshal(body)
		authCall := call{path: "id-card/authenticity", k: k, key: key2, body: b, contentType: "application/json", headers: map[string]string{"Request-Key": rk}}
		_, a = do(t, s, authCall.request(t))
		var verdict struct{ IsAuthenticity *bool }
		_ = json.Unmarshal(a.Result, &verdict)
		if !a.Header.IsSuccessful || verdict.IsAuthenticity == nil || *verdict.IsAuthenticity != tc.authentic {
			t.Fatalf("%s %q: authenticity %+v %s", tc.idType, tc.extra, a.Header, a.Result)
		}
		// single use
		if _, a = do(t, s, authCall.request(t)); a.Header.ResultCode != codeRequestKeyInvalid {
			t.Errorf("reused Request-Key: %+v", a.Header)
		}
	}

	// stand-alone issues no Request-Key
	w, a := do(t, s, call{path: "id-card/stand-alone", k: k, image: png(3)}.request(t))
	if !a.Header.IsSuccessful || w.Header().Get("Request-Key") != "" {
		t.Fatalf("stand-alone: %+v %q", a.Header, w.Header().Get("Request-Key"))
	}
}

func TestValidationErrors(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	s := newServer(t, Options{MaxUpload: 4096, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	k := fetchKey(t, s, ServiceCreditCard)
	kid := fetchKey(t, s, ServiceIDCard)
	other, _ := rsa.GenerateKey(rand.Reader, 1024)
	img := png(4)
	key := bytes.Repeat([]byte{9}, 32)
	cases := []struct {
		name string
		c    call
		code int
	}{
		{"wrong appKey", call{path: "credit-card", k: k, image: img}, -1},
		{"missing Authorization", call{path: "credit-card", k: k, image: img, headers: map[string]string{"Authorization": ""}}, codeMissingHeader},
		{"wrong secret", call{path: "credit-card", k: k, image: img, headers: map[string]string{"Authorization": "nope"}}, codeInvalidAppKey},
		{"missing X-Key-Version", call{path: "credit-card", k: k, image: img, headers: map[string]string{"X-Key-Version": ""}}, codeMissingHeader},
		{"missing Symmetric-Key", call{path: "credit-card", k: k, image: img, headers: map[string]string{"Symmetric-Key": ""}}, codeMissingHeader},
		{"wrong key version", call{path: "credit-card", k: k, image: img, headers: map[string]string{"X-Key-Version": "99"}}, codeInvalidKeyVersion},
		{"garbage Symmetric-Key", call{path: "credit-card", k: k, image: img, headers: map[string]string{"Symmetric-Key": "!!!"}}, codeInvalidSymmetricKey},
		{"key sealed for another RSA key", call{path: "credit-card", k: clientKey{&other.PublicKey, k.version}, image: img}, codeInvalidSymmetricKey},
		{"id-card key used for credit-card", call{path: "credit-card", k: kid, image: img}, codeInvalidSymmetricKey},
		{"16-byte symmetric key", call{path: "credit-card", k: k, key: key[:16], image: img}, codeInvalidSymmetricKey},
		{"not multipart", call{path: "credit-card", k: k, body: []byte("{}"), contentType: "application/json"}, codeInvalidParameter},
		{"no image part", call{path: "credit-card", k: k, noImage: true}, codeInvalidFile},
		{"empty image part", call{path: "credit-card", k: k, rawPart: []byte{}}, codeEmptyFile},
		{"plaintext image", call{path: "credit-card", k: k, rawPart: img[:48]}, codeInvalidEncrypted},
		{"ragged ciphertext", call{path: "credit-card", k: k, rawPart: make([]byte, 33)}, codeInvalidEncrypted},
		{"gif image", call{path: "credit-card", k: k, image: []byte("GIF89a......")}, codeInvalidFileType},
		{"too large", call{path: "credit-card", k: k, image: append(png(5), make([]byte, 5000)...)}, codeMaxUploadExceeded},
		{"authenticity without Request-Key", call{path: "id-card/authenticity", k: kid, body: []byte(`{}`), contentType: "application/json"}, codeMissingHeader},
		{"unknown Request-Key", call{path: "id-card/authenticity", k: kid, body: []byte(`{}`), contentType: "application/json", headers: map[string]string{"Request-Key": "nope"}}, codeRequestKeyInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.request(t)
			if tc.code == -1 {
				r.URL.Path = strings.Replace(r.URL.Path, appKey, "other", 1)
				tc.code = codeInvalidAppKey
			}
			w, a := do(t, s, r)
			if w.Code != 200 || a.Header.IsSuccessful || a.Header.ResultCode != tc.code || a.Header.ResultMessage != messages[tc.code] {
				t.Fatalf("HTTP %d header %+v; want 200 code %d", w.Code, a.Header, tc.code)
			}
		})
	}

	// Request-Key: a bad body, a bad field, then expiry.
	w, _ := do(t, s, call{path: "id-card", k: kid, image: img}.request(t))
	rk := w.Header().Get("Request-Key")
	auth := func(body string) int {
		_, a := do(t, s, call{path: "id-card/authenticity", k: kid, key: key, body: []byte(body), contentType: "application/json",
			headers: map[string]string{"Request-Key": rk}}.request(t))
		return a.Header.ResultCode
	}
	if c := auth(`{"idType":"resident","name":"x"}`); c != codeInvalidParameter {
		t.Errorf("missing fields: %d", c)
	}
	if c := auth(`{"idType":"resident","name":"AAAA","residentNumber":"AAAA","issueDate":"AAAA"}`); c != codeInvalidEncrypted {
		t.Errorf("undecryptable fields: %d", c)
	}
	if c := auth(`not json`); c != codeInvalidParameter {
		t.Errorf("bad json: %d", c)
	}
	mu.Lock()
	now = now.Add(RequestKeyTTL + time.Second)
	mu.Unlock()
	d := emulator.Derive(img)
	good, _ := json.Marshal(map[string]string{"idType": "resident", "name": encryptValue(key, d.Name),
		"residentNumber": encryptValue(key, digits(d.PersonalNumber)), "issueDate": encryptValue(key, ymd(d.IssueDate))})
	if c := auth(string(good)); c != codeRequestKeyInvalid {
		t.Errorf("expired Request-Key: %d", c)
	}
}

func TestFaults(t *testing.T) {
	s := newServer(t, Options{})
	k := fetchKey(t, s, ServiceCreditCard)
	for _, tc := range []struct {
		name   string
		b      emulator.Behavior
		marker []byte
		code   int
	}{
		{"throttle", emulator.Behavior{ThrottleRate: 1}, nil, codeCallLimitExceeded},
		{"server error", emulator.Behavior{}, emulator.MarkerServerError, codeUnavailable},
		{"failure", emulator.Behavior{}, emulator.MarkerFailure, CodeRecognitionFailed},
		{"error", emulator.Behavior{}, emulator.MarkerError, CodeRecognitionError},
	} {
		s.Engine().SetBehavior(tc.b)
		w, a := do(t, s, call{path: "credit-card", k: k, image: png(6, tc.marker...)}.request(t))
		if w.Code != 200 || a.Header.IsSuccessful || a.Header.ResultCode != tc.code {
			t.Errorf("%s: HTTP %d %+v", tc.name, w.Code, a.Header)
		}
	}
	s.Engine().SetBehavior(emulator.Behavior{})
	w, _ := do(t, s, call{path: "credit-card", k: k, image: png(7, emulator.MarkerNotJSON...)}.request(t))
	if json.Valid(w.Body.Bytes()) || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("not-json fault answered %q", w.Body.String())
	}
	w, _ = do(t, s, call{path: "credit-card", k: k, image: png(8, emulator.MarkerTruncated...)}.request(t))
	if json.Valid(w.Body.Bytes()) || !strings.HasPrefix(w.Body.String(), `{"header"`) {
		t.Errorf("truncated fault answered %q", w.Body.String())
	}
	st := s.Engine().Stats().Calls
	if st["credit-card throttled"] != 1 || st["credit-card failure"] != 1 || st["credit-card truncated"] != 1 {
		t.Errorf("stats %v", st)
	}
}

func TestRotateKey(t *testing.T) {
	s := newServer(t, Options{KeyVersion: 5})
	old := fetchKey(t, s, ServiceCreditCard)
	if old.version != "5" {
		t.Fatalf("first version %q", old.version)
	}
	if err := s.RotateKey(); err != nil {
		t.Fatal(err)
	}
	cur := fetchKey(t, s, ServiceCreditCard)
	if cur.version != "6" || cur.pub.Equal(old.pub) || s.KeyVersion() != "6" {
		t.Fatalf("after rotation: version %q, same key %v", cur.version, cur.pub.Equal(old.pub))
	}
	if _, a := do(t, s, call{path: "credit-card", k: old, image: png(9)}.request(t)); a.Header.ResultCode != codeInvalidKeyVersion {
		t.Fatalf("old version: %+v", a.Header)
	}
	// the old version with the new number still fails: the key differs
	if _, a := do(t, s, call{path: "credit-card", k: clientKey{old.pub, "6"}, image: png(9)}.request(t)); a.Header.ResultCode != codeInvalidSymmetricKey {
		t.Fatalf("old key, new version: %+v", a.Header)
	}
	if _, a := do(t, s, call{path: "credit-card", k: cur, image: png(9)}.request(t)); !a.Header.IsSuccessful {
		t.Fatalf("new key: %+v", a.Header)
	}
}

func TestPublicKeyEndpoint(t *testing.T) {
	for _, pkcs1 := range []bool{false, true} {
		s := newServer(t, Options{PKCS1: pkcs1})
		r := httptest.NewRequest("GET", "/v2.0/appkeys/"+appKey+"/public-keys/credit-card", nil)
		r.Header.Set("Authorization", secret)
		_, a := do(t, s, r)
		var k struct{ Key, Version string }
		_ = json.Unmarshal(a.Result, &k)
		der, _ := base64.StdEncoding.DecodeString(k.Key)
		_, errSPKI := x509.ParsePKIXPublicKey(der)
		_, errPKCS1 := x509.ParsePKCS1PublicKey(der)
		if k.Version != "0" || (pkcs1 && errPKCS1 != nil) || (!pkcs1 && errSPKI != nil) {
			t.Errorf("pkcs1=%v: version %q spki %v pkcs1 %v", pkcs1, k.Version, errSPKI, errPKCS1)
		}
		r = httptest.NewRequest("GET", "/v2.0/appkeys/"+appKey+"/public-keys/receipt", nil)
		r.Header.Set("Authorization", secret)
		if _, a := do(t, s, r); a.Header.ResultCode != codeInvalidParameter {
			t.Errorf("unknown service: %+v", a.Header)
		}
		r = httptest.NewRequest("GET", "/v2.0/appkeys/"+appKey+"/public-keys/credit-card", nil)
		if _, a := do(t, s, r); a.Header.ResultCode != codeMissingHeader {
			t.Errorf("no secret: %+v", a.Header)
		}
	}
}

func TestReusedSymmetricKeyIsCounted(t *testing.T) {
	s := newServer(t, Options{})
	k := fetchKey(t, s, ServiceCreditCard)
	key := bytes.Repeat([]byte{1}, 32)
	for i := 0; i < 2; i++ {
		do(t, s, call{path: "credit-card", k: k, key: key, image: png(10 + i)}.request(t))
	}
	if n := s.Engine().Stats().DuplicateRequestIDs; n != 1 {
		t.Fatalf("DuplicateRequestIDs = %d, want 1", n)
	}
}

func TestMRZCheckDigits(t *testing.T) {
	// ICAO 9303 specimen: L898902C3 has check digit 6, 740812 -> 2.
	if checkDigit("L898902C3") != "6" || checkDigit("740812") != "2" || checkDigit("<<<<<<<<<<<<<<") != "0" {
		t.Fatal("check digits")
	}
	l1, l2 := mrz(emulator.Derive([]byte("x")))
	if len(l1) != 44 || len(l2) != 44 {
		t.Fatalf("MRZ lines %d/%d", len(l1), len(l2))
	}
}
