package tasks

import (
	"crypto/sha256"
	"encoding/hex"
)

// MetaFaceRef is the result metadata that ties a face-compare result to the
// face photo it compared (see FaceRef). A result is named after the ID card
// alone, so without it a card paired with another or a changed face photo
// would look already done.
const MetaFaceRef = "face-ref"

// FaceRef identifies one version of a face photo: a hash of its URI and
// ETag (object keys may hold personal data, so the URI is not stored as is).
// Empty for tasks that are not face-compare.
func FaceRef(uri, etag string) string {
	if uri == "" {
		return ""
	}
	h := sha256.Sum256([]byte(uri + "\x00" + etag))
	return hex.EncodeToString(h[:16])
}

// ResultCurrent reports whether a result's metadata says it was made from
// this version of the source (and, for face-compare, of the face photo:
// faceRef from FaceRef, "" otherwise).
func ResultCurrent(meta map[string]string, sourceETag, faceRef string) bool {
	return meta[MetaSourceETag] == sourceETag && meta[MetaFaceRef] == faceRef
}
