package nhn

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"runtime"
	"testing"
)

// referenceEncrypt is AES-256-CBC/PKCS7 with IV = key[:16], written the
// plain way, to check the streaming encrypter against.
func referenceEncrypt(t testing.TB, key, plain []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	p := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(p)}, p)...)
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(buf, buf)
	return buf
}

func mustEnvelope(t testing.TB) *envelope {
	t.Helper()
	e, err := newEnvelope()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEncryptStreamMatchesReference(t *testing.T) {
	const chunk = 64 << 10
	for _, n := range []int{0, 1, 15, 16, 17, 1000, chunk - 1, chunk, chunk + 1, 2*chunk + 5, 3 * chunk} {
		plain := make([]byte, n)
		_, _ = rand.Read(plain)
		e := mustEnvelope(t)
		var out bytes.Buffer
		// iotest-style one-byte-at-a-time reads must not change the output
		got, err := e.encryptStream(&out, io.LimitReader(bytes.NewReader(plain), int64(n)))
		if err != nil || got != int64(n) {
			t.Fatalf("n=%d: encryptStream = %d, %v", n, got, err)
		}
		want := referenceEncrypt(t, e.key[:], plain)
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("n=%d: ciphertext differs from AES-CBC/PKCS7 with IV=key[:16]", n)
		}
		if int64(out.Len()) != encryptedLen(int64(n)) {
			t.Fatalf("n=%d: encryptedLen = %d, ciphertext %d", n, encryptedLen(int64(n)), out.Len())
		}
	}
}

func TestFreshKeyPerEnvelope(t *testing.T) {
	a, b := mustEnvelope(t), mustEnvelope(t)
	if a.key == b.key {
		t.Fatal("two envelopes share a symmetric key")
	}
	if !bytes.Equal(a.iv(), a.key[:16]) {
		t.Fatal("IV is not the key's first 16 bytes")
	}
}

func TestValueRoundTrip(t *testing.T) {
	e := mustEnvelope(t)
	for _, s := range []string{"", "김민준", "800101-1234567", "exactly16bytes!!", "5307123456789012"} {
		ct := e.encryptValue(s)
		if want := base64.StdEncoding.EncodeToString(referenceEncrypt(t, e.key[:], []byte(s))); ct != want {
			t.Errorf("encryptValue(%q) is not standard Base64 of AES-CBC/PKCS7", s)
		}
		got, err := e.decryptValue(ct)
		if err != nil || got != s {
			t.Errorf("decryptValue(encryptValue(%q)) = %q, %v", s, got, err)
		}
	}
}

func TestDecryptValueRejects(t *testing.T) {
	e, other := mustEnvelope(t), mustEnvelope(t)
	for name, in := range map[string]string{
		"not base64":       "%%%",
		"empty":            "",
		"not block sized":  base64.StdEncoding.EncodeToString([]byte("short")),
		"other key":        other.encryptValue("800101-1234567"),
		"zero padding":     base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"tampered padding": tamperLastByte(e.encryptValue("x")),
	} {
		if v, err := e.decryptValue(in); err == nil {
			// a wrong key can, rarely, yield valid-looking padding; never the plaintext
			if name == "other key" && v != "800101-1234567" {
				continue
			}
			t.Errorf("%s: decryptValue accepted it", name)
		} else if err != errBadCiphertext {
			t.Errorf("%s: error %v, want errBadCiphertext", name, err)
		}
	}
}

func tamperLastByte(b64 string) string {
	b, _ := base64.StdEncoding.DecodeString(b64)
	b[len(b)-1] ^= 0xFF
	return base64.StdEncoding.EncodeToString(b)
}

func FuzzDecryptValue(f *testing.F) {
	e := &envelope{}
	copy(e.key[:], "0123456789abcdef0123456789abcdef")
	block, _ := aes.NewCipher(e.key[:])
	e.block = block
	f.Add(e.encryptValue("800101-1234567"))
	f.Add(e.encryptValue(""))
	f.Add("J/MTycDJ")
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, s string) {
		plain, err := e.decryptValue(s) // must never panic
		if err == nil && e.encryptValue(plain) == "" {
			t.Fatal("decrypted value does not re-encrypt")
		}
		// whatever s is, encrypting it must round-trip
		if back, err := e.decryptValue(e.encryptValue(s)); err != nil || back != s {
			t.Fatalf("round trip of %q = %q, %v", s, back, err)
		}
	})
}

func TestSealedKeyOpensWithPrivateKey(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := mustEnvelope(t)
	sealed, err := e.sealedKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatalf("Symmetric-Key is not standard Base64: %v", err)
	}
	key, err := rsa.DecryptPKCS1v15(nil, priv, ct)
	if err != nil || !bytes.Equal(key, e.key[:]) {
		t.Fatalf("RSA PKCS1v15 decrypt = %x, %v; want the 32-byte key", key, err)
	}
}

func TestParsePublicKeyFormats(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pkcs1 := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	for name, s := range map[string]string{
		"SPKI base64":   base64.StdEncoding.EncodeToString(spki),
		"PKCS1 base64":  base64.StdEncoding.EncodeToString(pkcs1),
		"SPKI raw b64":  base64.RawStdEncoding.EncodeToString(spki),
		"SPKI url b64":  base64.URLEncoding.EncodeToString(spki),
		"SPKI PEM":      string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})),
		"PKCS1 PEM":     string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})),
		"SPKI newlines": "\n" + base64.StdEncoding.EncodeToString(spki) + "\n",
	} {
		k, err := parsePublicKey(s)
		if err != nil || !k.Equal(&priv.PublicKey) {
			t.Errorf("%s: parsePublicKey = %v", name, err)
		}
	}
	for _, bad := range []string{"", "String", base64.StdEncoding.EncodeToString([]byte("not a key"))} {
		if _, err := parsePublicKey(bad); err == nil {
			t.Errorf("parsePublicKey(%q) accepted garbage", bad)
		}
	}
}

// TestEncryptStreamMemory proves a 10 MB image is streamed: encrypting it
// allocates a small fraction of its size.
func TestEncryptStreamMemory(t *testing.T) {
	const size = 10 << 20
	e := mustEnvelope(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := e.encryptStream(io.Discard, io.LimitReader(zeroReader{}, size))
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("encryptStream = %d, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("encrypting 10 MB allocated %d bytes; it must stream", alloc)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func newCipherForTest(key []byte) (cipher.Block, error) { return aes.NewCipher(key) }
