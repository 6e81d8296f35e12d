// Package layout is the one place that knows the project's shared formats:
// where its objects live in storage and what their metadata says (result
// keys, raw copies, batch summaries, the reserved _ocr/ area, "is this
// result current": this file), and the task payloads a producer and a
// worker exchange (types, versions, IDs, constructors: payload.go).
// Everything else asks it instead of concatenating keys or JSON. It is a
// leaf: it imports only storage's URI and result's document types.
//
// For a source key K and an output prefix OP (both as stored, OP ending in "/"):
//
//	OP K.json                      the result (result-v1: the contract)
//	OP _ocr/raw/K.json             the vendor's raw answer (keepRaw)
//	OP _ocr/raw-pages/K/N.json     the raw answer of page N of a multi-page source (keepRaw)
//	OP _ocr/progress/K/N.json      page N's answer, kept until the source's result is written
//	OP _ocr/batches/BATCH.json     a finished batch's summary
//	OP _ocr/batches/BATCH/failures-N.jsonl  its failed sources past what Redis keeps
//	OP _batches/BATCH.json         a summary written before _ocr/ (read only)
//
// No result can lie under OP _ocr/: a source whose key starts with _ocr/ is
// refused, and listings skip every key with an _ocr path segment.
package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Area is the reserved sub-prefix of every output prefix.
const Area = "_ocr/"

// legacyBatches is where summaries went before Area existed.
const legacyBatches = "_batches/"

// MaxKeyBytes is the longest object key S3 accepts.
const MaxKeyBytes = 1024

// Result object metadata: lets a producer or a re-run task decide from a
// HEAD whether a result is current, without reading it.
const (
	MetaSourceETag = "source-etag"
	MetaStatus     = "status"
	MetaCode       = "error-code"
	// MetaFaceRef ties a face-compare result to the face photo it compared
	// (see FaceRef): a result is named after the ID card alone.
	MetaFaceRef = "face-ref"
	// MetaOwner names the source a result belongs to (see Owner), so a
	// second source aiming at the same key (s3://a/k and s3://b/k, one
	// output prefix) cannot replace it.
	MetaOwner = "source-ref"
	// MetaBatch names the batch whose run wrote a result, so a later run of
	// the same batch that replaces it knows the batch counted it already.
	MetaBatch = "batch"
)

// ResultKey is where the result of sourceKey goes: OP + K + ".json".
func ResultKey(outKey, sourceKey string) string { return outKey + sourceKey + ".json" }

// ResultPrefix is the prefix under which the results of every source
// under srcPrefix lie.
func ResultPrefix(outKey, srcPrefix string) string { return outKey + srcPrefix }

// RawKey is where the raw vendor answer of sourceKey goes.
func RawKey(outKey, sourceKey string) string { return outKey + Area + "raw/" + sourceKey + ".json" }

// PageRawKey is where the raw vendor answer of page (from 1) of a
// multi-page source goes. A page key always ends in /N.json below K, so no
// two sources' pages can share one.
func PageRawKey(outKey, sourceKey string, page int) string {
	return outKey + Area + "raw-pages/" + sourceKey + "/" + strconv.Itoa(page) + ".json"
}

// ProgressPrefix is where the answers of a multi-page source's pages are
// kept while it is read (ProgressKey), so that a retry pays only for the
// pages not yet read. They are removed once the result is written.
func ProgressPrefix(outKey, sourceKey string) string {
	return outKey + Area + "progress/" + sourceKey + "/"
}

// ProgressKey is where page (from 1) of sourceKey's answer is kept.
func ProgressKey(outKey, sourceKey string, page int) string {
	return ProgressPrefix(outKey, sourceKey) + strconv.Itoa(page) + ".json"
}

// ProgressPage is the page number of a key under ProgressPrefix, or 0.
func ProgressPage(prefix, key string) int {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ".json"))
	if err != nil || n < 1 || !strings.HasSuffix(rest, ".json") {
		return 0
	}
	return n
}

// Progress object metadata: a saved page answer counts only for the same
// version of the same source, read by the same vendor with the same
// masking.
const (
	MetaVendor = "vendor"
	MetaPII    = "pii"
)

// ProgressMeta is the metadata of a saved page answer.
func ProgressMeta(owner, sourceETag, vendor string, pii bool) map[string]string {
	return map[string]string{MetaOwner: owner, MetaSourceETag: sourceETag, MetaVendor: vendor, MetaPII: strconv.FormatBool(pii)}
}

// ProgressCurrent reports whether a saved page answer was made by this
// read: ProgressMeta of the same values.
func ProgressCurrent(meta map[string]string, owner, sourceETag, vendor string, pii bool) bool {
	return meta[MetaOwner] == owner && meta[MetaSourceETag] == sourceETag && meta[MetaVendor] == vendor &&
		meta[MetaPII] == strconv.FormatBool(pii)
}

// LegacyRawKey is where raw copies went before Area (K.raw.json next to
// K.json, resultKey's K): remask still masks what older versions left there.
func LegacyRawKey(resultKey string) string {
	return strings.TrimSuffix(resultKey, ".json") + ".raw.json"
}

// SummaryKey is where the summary of a batch goes.
func SummaryKey(outKey, batch string) string { return outKey + Area + "batches/" + batch + ".json" }

// FailuresKey is where the n-th spill of a batch's failed sources goes
// (JSON lines; the batch's summary lists them).
func FailuresKey(outKey, batch, n string) string {
	return outKey + Area + "batches/" + batch + "/failures-" + n + ".jsonl"
}

// LegacySummaryKey is where summaries were written before Area; they stay
// there and are only read.
func LegacySummaryKey(outKey, batch string) string { return outKey + legacyBatches + batch + ".json" }

// Reserved reports whether a key lies in some output prefix's _ocr/ area:
// listings skip it, as no source or result can be there.
func Reserved(key string) bool {
	return strings.HasPrefix(key, Area) || strings.Contains(key, "/"+Area)
}

// ReservedSource reports whether sourceKey's result would fall into the
// reserved area of its output prefix (OP + "_ocr/...").
func ReservedSource(sourceKey string) bool { return strings.HasPrefix(sourceKey, Area) }

// Owner identifies a source in result metadata: a hash of its URI (object
// keys may hold personal data, so the URI is never stored or logged as is).
func Owner(sourceURI string) string { return ref(sourceURI) }

// FaceRef identifies one version of a face photo: a hash of its URI and
// ETag. Empty for tasks that are not face-compare.
func FaceRef(uri, etag string) string {
	if uri == "" {
		return ""
	}
	return ref(uri + "\x00" + etag)
}

func ref(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// IsResult reports whether an object's metadata marks it as a result:
// every result has a status and most a source ETag (not one for a source
// that was never read, such as a missing one); newer ones name their owner.
func IsResult(meta map[string]string) bool {
	return meta[MetaStatus] != "" || meta[MetaSourceETag] != "" || meta[MetaOwner] != ""
}

// OwnedBy reports whether an object may be replaced by a result of the
// source with this Owner: it is a result, and of the same source. Results
// written before MetaOwner existed carry none and count as the source's.
func OwnedBy(meta map[string]string, owner string) bool {
	if !IsResult(meta) {
		return false
	}
	o := meta[MetaOwner]
	return o == "" || o == owner
}

// ResultCurrent reports whether a result's metadata says it was made from
// this version of this source (and, for face-compare, of the face photo:
// faceRef from FaceRef, "" otherwise).
func ResultCurrent(meta map[string]string, owner, sourceETag, faceRef string) bool {
	return OwnedBy(meta, owner) && meta[MetaSourceETag] == sourceETag && meta[MetaFaceRef] == faceRef
}

// ResultMeta is the metadata of a result object. code and faceRef may be empty.
func ResultMeta(owner, sourceETag, status, code, faceRef string) map[string]string {
	m := map[string]string{MetaOwner: owner, MetaSourceETag: sourceETag, MetaStatus: status}
	if code != "" {
		m[MetaCode] = code
	}
	if faceRef != "" {
		m[MetaFaceRef] = faceRef
	}
	return m
}

// OutputSkip returns which keys a listing of the source prefix srcKey must
// skip because they are output of an output prefix outKey in the same
// bucket, and whether any are (overlap: the caller warns once).
//
//   - outKey inside srcKey (src docs/, out docs/results/): every key under outKey.
//   - outKey equal to or above srcKey (out docs/ or the bucket root): results
//     lie beside their sources, so every key ending in ".json" (no image the
//     vendors read is JSON).
//
// The reserved area is always skipped, overlap or not.
func OutputSkip(srcKey, outKey string, sameBucket bool) (skip func(key string) bool, overlap bool) {
	switch {
	case !sameBucket:
		return Reserved, false
	case strings.HasPrefix(outKey, srcKey) && outKey != srcKey:
		return func(k string) bool { return Reserved(k) || strings.HasPrefix(k, outKey) }, true
	case strings.HasPrefix(srcKey, outKey):
		return func(k string) bool { return Reserved(k) || strings.HasSuffix(k, ".json") }, true
	}
	return Reserved, false
}
