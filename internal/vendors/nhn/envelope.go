package nhn

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Every encoding choice of NHN's envelope encryption lives in this file.
//
// Sources: the NHN Cloud Document OCR API v2.0 page (seed 001) and NHN's
// current v2.0 guide (docs.nhncloud.com, document-ocr-api-guide-v2.0, change
// of 2024-11-20), summarized in shared/seeds/README.md:
//
//   - symmetric key: 32 random bytes, fresh for every request (seed: "반드시
//     32Byte 난수", "각 요청마다 새로운 대칭 키");
//   - it travels RSA/ECB/PKCS1Padding-encrypted with the vendor's public key
//     (= RSA PKCS #1 v1.5), Base64 in the Symmetric-Key header (seed);
//   - image, authenticity request fields and sensitive response fields are
//     AES-256/CBC/PKCS7Padding with that key (seed);
//   - IV = bytes 0..15 of the symmetric key (guide of 2024-11-20; the seed
//     page is silent);
//   - Base64 flavour: standard alphabet with padding, as the guide's examples
//     look ("J/MTycDJ..."); on input we also accept the unpadded and URL-safe
//     alphabets, since the guide does not say;
//   - the public key is "Base64-encoded" (seed) without saying which DER
//     structure: we accept X.509 SubjectPublicKeyInfo (what Java's
//     X509EncodedKeySpec reads, the most likely) and PKCS #1, bare or PEM.

const symmetricKeySize = 32 // AES-256

// wireBase64 encodes everything we send.
var wireBase64 = base64.StdEncoding

// decodeBase64 reads Base64 in any of the flavours a vendor may plausibly use.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// parsePublicKey reads the public-keys API's result.key.
func parsePublicKey(encoded string) (*rsa.PublicKey, error) {
	var der []byte
	if block, _ := pem.Decode([]byte(encoded)); block != nil {
		der = block.Bytes
	} else {
		b, err := decodeBase64(encoded)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		der = b
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: %T is not RSA", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, errors.New("public key: neither X.509 SubjectPublicKeyInfo nor PKCS #1 RSA")
	}
	return k, nil
}

// envelope is the symmetric key of ONE request. Never reuse it for another.
type envelope struct {
	key   [symmetricKeySize]byte
	block cipher.Block
}

func newEnvelope() (*envelope, error) {
	e := &envelope{}
	if _, err := rand.Read(e.key[:]); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(e.key[:])
	if err != nil {
		return nil, err
	}
	e.block = block
	return e, nil
}

// iv is the key's first block (NHN guide v2.0, 2024-11-20).
func (e *envelope) iv() []byte { return e.key[:aes.BlockSize] }

// sealedKey is the Symmetric-Key header value.
func (e *envelope) sealedKey(pub *rsa.PublicKey) (string, error) {
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, e.key[:])
	if err != nil {
		return "", fmt.Errorf("seal symmetric key: %w", err)
	}
	return wireBase64.EncodeToString(ct), nil
}

// encryptedLen is the ciphertext length of n plaintext bytes (PKCS #7 always
// adds 1..16 bytes).
func encryptedLen(n int64) int64 { return (n/aes.BlockSize + 1) * aes.BlockSize }

// encryptStream writes the AES-CBC/PKCS7 ciphertext of src to dst, holding
// at most one buffer of plaintext at a time, and returns the plaintext size.
func (e *envelope) encryptStream(dst io.Writer, src io.Reader) (int64, error) {
	const chunk = 64 << 10 // a multiple of the block size
	cbc := cipher.NewCBCEncrypter(e.block, e.iv())
	buf := make([]byte, chunk+aes.BlockSize) // room for the final padding block
	var n int64
	for {
		m, err := io.ReadFull(src, buf[:chunk])
		n += int64(m)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			padded := pkcs7Pad(buf[:m], buf)
			cbc.CryptBlocks(padded, padded)
			_, werr := dst.Write(padded)
			return n, werr
		}
		if err != nil {
			return n, err
		}
		// A full, block-aligned chunk: encrypt it whole. The padding goes
		// into the last read, which may be empty (a whole padding block).
		cbc.CryptBlocks(buf[:chunk], buf[:chunk])
		if _, err := dst.Write(buf[:chunk]); err != nil {
			return n, err
		}
	}
}

// pkcs7Pad pads data (a prefix of room) in place and returns the padded slice.
func pkcs7Pad(data, room []byte) []byte {
	p := aes.BlockSize - len(data)%aes.BlockSize
	out := room[:len(data)+p]
	for i := len(data); i < len(out); i++ {
		out[i] = byte(p)
	}
	return out
}

// encryptValue encrypts one authenticity request field.
func (e *envelope) encryptValue(plain string) string {
	buf := make([]byte, len(plain)+aes.BlockSize)
	copy(buf, plain)
	padded := pkcs7Pad(buf[:len(plain)], buf)
	cipher.NewCBCEncrypter(e.block, e.iv()).CryptBlocks(padded, padded)
	return wireBase64.EncodeToString(padded)
}

// errBadCiphertext never says anything about the value itself.
var errBadCiphertext = errors.New("encrypted value is not valid AES-CBC/PKCS7 Base64")

// decryptValue decrypts one sensitive response field.
func (e *envelope) decryptValue(encoded string) (string, error) {
	ct, err := decodeBase64(encoded)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return "", errBadCiphertext
	}
	cipher.NewCBCDecrypter(e.block, e.iv()).CryptBlocks(ct, ct)
	p := int(ct[len(ct)-1])
	if p == 0 || p > aes.BlockSize {
		return "", errBadCiphertext
	}
	for _, b := range ct[len(ct)-p:] {
		if int(b) != p {
			return "", errBadCiphertext
		}
	}
	return string(ct[:len(ct)-p]), nil
}
