package nhnemu

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strconv"
)

// The vendor side of NHN's envelope encryption, written from the seed and
// shared/seeds/README.md independently of the client, so a client mistake
// is not mirrored here:
//
//   - Symmetric-Key header: Base64 (standard) of RSA/ECB/PKCS1Padding of a
//     32-byte key;
//   - image, authenticity fields, sensitive answer values: AES-256/CBC/
//     PKCS7Padding, IV = key bytes 0..15 (NHN guide v2.0, 2024-11-20);
//   - values travel as standard Base64;
//   - the public key is served Base64 DER, SubjectPublicKeyInfo by default
//     (Options.PKCS1 serves PKCS #1 instead, to test clients accept both).

var b64 = base64.StdEncoding

// keyPair is one service's RSA key and its version.
type keyPair struct {
	priv    *rsa.PrivateKey
	version string
}

func newKeyPair(bits, version int) (*keyPair, error) {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	return &keyPair{priv: k, version: strconv.Itoa(version)}, nil
}

func (k *keyPair) publicKey(pkcs1 bool) string {
	if pkcs1 {
		return b64.EncodeToString(x509.MarshalPKCS1PublicKey(&k.priv.PublicKey))
	}
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		panic(err) // an RSA public key always marshals
	}
	return b64.EncodeToString(der)
}

var errCrypto = errors.New("crypto")

// openKey decrypts a Symmetric-Key header into the request's AES key.
func (k *keyPair) openKey(header string) ([]byte, error) {
	ct, err := b64.DecodeString(header)
	if err != nil {
		return nil, errCrypto
	}
	key, err := rsa.DecryptPKCS1v15(nil, k.priv, ct)
	if err != nil || len(key) != 32 {
		return nil, errCrypto
	}
	return key, nil
}

// decrypt opens AES-CBC/PKCS7 data with key (IV = key[:16]).
func decrypt(key, ct []byte) ([]byte, error) {
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errCrypto
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errCrypto
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(out, ct)
	p := int(out[len(out)-1])
	if p < 1 || p > aes.BlockSize {
		return nil, errCrypto
	}
	for _, b := range out[len(out)-p:] {
		if int(b) != p {
			return nil, errCrypto
		}
	}
	return out[:len(out)-p], nil
}

// decryptValue opens one Base64 field of an authenticity request.
func decryptValue(key []byte, s string) (string, error) {
	ct, err := b64.DecodeString(s)
	if err != nil {
		return "", errCrypto
	}
	p, err := decrypt(key, ct)
	return string(p), err
}

// encryptValue seals one answer value for the client.
func encryptValue(key []byte, plain string) string {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key is always 32 bytes here
	}
	p := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+p)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(p)
	}
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(buf, buf)
	return b64.EncodeToString(buf)
}
