package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// matchThreshold is the eKYC account's configured threshold in these tests:
// not the default (0.8), so a result can only be right if the worker used
// the configured one.
const matchThreshold = 0.5

// ekycConfig is the default stack config with the eKYC account's
// matchThreshold set and raw answers kept (to prove they hold no faces).
var ekycConfig = strings.Replace(stack.DefaultConfig, "    secret: ${CLOVA_EKYC_SECRET}\n",
	fmt.Sprintf("    secret: ${CLOVA_EKYC_SECRET}\n    matchThreshold: %v\n    keepRaw: true\n", matchThreshold), 1)

// TestEKYCEndpoints drives every eKYC endpoint through the built producer
// and worker, Redis and MinIO against the emulator: biz-license/document,
// id-card/document and face/compare (pairs from a manifest and from
// --face), with flaky images retried; then checks results, the configured
// match threshold, face counts, the vendor details kept for a later Verify
// call, that no retry reused a requestId, and that no face feature vector or
// aligned face image reached a result, a raw answer or a log line.
func TestEKYCEndpoints(t *testing.T) {
	if !strings.Contains(ekycConfig, "matchThreshold") {
		t.Fatal("could not extend the default config")
	}
	s := newStack(t, stack.Options{Config: ekycConfig})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")

	docs := map[string][]byte{} // source key -> image, for biz-license and id-card
	for _, typ := range []string{result.TypeBizLicense, result.TypeIDCard} {
		for i := 0; i < 4; i++ {
			var extra []byte
			if i == 3 {
				extra = emulator.MarkerFlaky // 5xx once, then success
			}
			key := fmt.Sprintf("ekyc/%s/%d.png", typ, i)
			docs[key] = testimages.PNG(int64(700+10*len(docs)), 40, 28, extra)
			put(t, in, key, docs[key])
		}
	}

	// Face pairs: cards chosen so that similarities fall above the default
	// threshold, between the configured and the default one, and below.
	type pair struct {
		card, face []byte
		flaky      bool
	}
	pairs := map[string]pair{} // card key -> pair
	var manifest []map[string]any
	addPair := func(name string, card []byte, flaky bool) string {
		cardKey, faceKey := "faces/cards/"+name+".png", "faces/selfies/"+name+".jpg"
		face := testimages.JPEG(int64(len(pairs)+900), 32, 32, nil)
		put(t, in, cardKey, card)
		put(t, in, faceKey, face)
		pairs[cardKey] = pair{card, face, flaky}
		return cardKey
	}
	bands := map[string]bool{}
	for seed := int64(800); len(bands) < 3 || len(pairs) < 4; seed++ {
		card := testimages.PNG(seed, 40, 28, nil)
		sim := emulator.Derive(card).Similarity
		band := "low"
		switch {
		case sim >= 0.8:
			band = "high"
		case sim >= matchThreshold:
			band = "mid"
		}
		if bands[band] && len(bands) < 3 {
			continue
		}
		bands[band] = true
		k := addPair(fmt.Sprintf("%s-%d", band, seed), card, false)
		manifest = append(manifest, map[string]any{"uri": "s3://inbox/" + k, "type": "face-compare",
			"faceImage": "s3://inbox/" + strings.Replace(strings.Replace(k, "cards/", "selfies/", 1), ".png", ".jpg", 1)})
	}
	flakyCard := addPair("flaky", testimages.PNG(850, 40, 28, emulator.MarkerFlaky), true)
	manifest = append(manifest, map[string]any{"uri": "s3://inbox/" + flakyCard, "type": "face-compare",
		"faceImage": "s3://inbox/faces/selfies/flaky.jpg"})
	single := addPair("single", testimages.PNG(851, 40, 28, nil), false)

	if _, err := s.StartWorker("--concurrency", "8", "--log-level", "debug"); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{result.TypeBizLicense, result.TypeIDCard} {
		o := producer(t, s, 0, "enqueue", "--type", typ, "--vendor", "ekyc", "--out", "s3://outbox/r/", "s3://inbox/ekyc/"+typ+"/")
		if n, _, _ := enqueuedLine(t, o); n != 4 {
			t.Fatalf("%s: %q", typ, o)
		}
	}
	o := producer(t, s, 0, "enqueue", "--out", "s3://outbox/r/", "@"+writeManifest(t, manifest))
	if n, _, _ := enqueuedLine(t, o); n != len(manifest) {
		t.Fatalf("manifest: %q", o)
	}
	o = producer(t, s, 0, "enqueue", "--type", "face-compare", "--face", "s3://inbox/faces/selfies/single.jpg",
		"--out", "s3://outbox/r/", "s3://inbox/"+single)
	if n, _, _ := enqueuedLine(t, o); n != 1 {
		t.Fatalf("--face: %q", o)
	}

	total := len(docs) + len(pairs)
	keys := waitResults(t, out, "r/", total, 90*time.Second)
	if len(keys) != total {
		t.Fatalf("%d results, want %d: %v", len(keys), total, keys)
	}
	var results []Result
	for key, img := range docs {
		r := readResult(t, out, "r/"+key+".json")
		results = append(results, r)
		typ := strings.Split(key, "/")[1]
		wantAttempts := 1
		if strings.HasSuffix(key, "/3.png") {
			wantAttempts = 2
		}
		if r.Status != result.StatusSucceeded || r.DocumentType != typ || r.Attempts != wantAttempts {
			t.Errorf("%s: status %q type %q attempts %d (want %d) error %+v", key, r.Status, r.DocumentType, r.Attempts, wantAttempts, r.Error)
			continue
		}
		if r.Vendor["name"] != "ekyc" || r.Vendor["endpoint"] != typ+"/document" || r.Vendor["requestId"] == "" || r.Vendor["uid"] == "" {
			t.Errorf("%s: vendor %v", key, r.Vendor)
		}
		// Kept for a later Verify call ({invokeURL}/verify/{inferDetailResource}).
		for _, k := range []string{"inferDetailType", "inferDetailResource"} {
			if v, _ := r.Vendor[k].(string); v == "" {
				t.Errorf("%s: vendor.%s missing: %v", key, k, r.Vendor)
			}
		}
		if _, ok := r.Vendor["isGrayScale"].(bool); !ok {
			t.Errorf("%s: vendor.isGrayScale missing: %v", key, r.Vendor)
		}
		checkFields(t, key, typ, r.Fields, img)
	}
	for cardKey, p := range pairs {
		r := readResult(t, out, "r/"+cardKey+".json") // named after the ID card
		results = append(results, r)
		wantAttempts := 1
		if p.flaky {
			wantAttempts = 2
		}
		if r.Status != result.StatusSucceeded || r.DocumentType != result.TypeFaceCompare || r.Attempts != wantAttempts {
			t.Errorf("%s: status %q type %q attempts %d (want %d) error %+v", cardKey, r.Status, r.DocumentType, r.Attempts, wantAttempts, r.Error)
			continue
		}
		if r.Vendor["endpoint"] != "face/compare" || r.Source["sha256"] != sha(p.card) {
			t.Errorf("%s: vendor %v source %v", cardKey, r.Vendor, r.Source)
		}
		var env struct {
			FaceSource *struct {
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
			} `json:"faceSource"`
			Fields *result.FaceCompare `json:"fields"`
		}
		if err := json.Unmarshal(r.raw, &env); err != nil || env.Fields == nil || env.FaceSource == nil {
			t.Errorf("%s: %v: %s", cardKey, err, r.raw)
			continue
		}
		if env.FaceSource.SHA256 != sha(p.face) || !strings.HasPrefix(env.FaceSource.URI, "s3://inbox/faces/selfies/") {
			t.Errorf("%s: faceSource %+v", cardKey, *env.FaceSource)
		}
		sim := emulator.Derive(p.card).Similarity
		want := result.FaceCompare{Similarity: sim, Match: sim >= matchThreshold, Faces: result.FaceCount{Card: 1, Face: 1}}
		if *env.Fields != want {
			t.Errorf("%s: fields %+v, want %+v", cardKey, *env.Fields, want)
		}
	}
	if !bands["mid"] || !bands["high"] || !bands["low"] {
		t.Fatalf("similarity bands covered: %v", bands)
	}

	// The three flaky images each failed once; no retry reused its requestId.
	var stats emulator.Stats
	getJSON(t, s, "ekyc", "stats", &stats)
	serverErrors := 0
	for k, n := range stats.Calls {
		if strings.HasSuffix(k, " server_error") {
			serverErrors += n
		}
	}
	if serverErrors != 3 {
		t.Errorf("server errors answered %d, want 3 (one per flaky image): %v", serverErrors, stats.Calls)
	}
	if stats.DuplicateRequestIDs != 0 {
		t.Errorf("duplicateRequestIds = %d, want 0", stats.DuplicateRequestIDs)
	}
	if stats.RequestIDs != total+serverErrors {
		t.Errorf("distinct requestIds %d, want one per call (%d)", stats.RequestIDs, total+serverErrors)
	}

	// No face feature vector or aligned face image anywhere we store or log.
	for _, r := range results {
		assertNoFaceData(t, "result "+r.Source["uri"].(string), r.raw)
	}
	raws := rawAnswers(t, out, "r/")
	for key, b := range raws {
		assertNoFaceData(t, key, b)
	}
	if len(raws) != total {
		t.Errorf("%d raw answers kept, want %d", len(raws), total)
	}
	logs, err := s.Logs()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"feature", "alignedImage", "aGVsbG8gZmFjZQ=="} {
		if strings.Contains(logs, v) {
			t.Errorf("a log line holds face data (%q)", v)
		}
	}
	assertNoSecrets(t, s)
}

// rawAnswers reads every kept raw answer (<out>_ocr/raw/K.json) under prefix.
func rawAnswers(t *testing.T, b storage.Bucket, prefix string) map[string][]byte {
	t.Helper()
	raws := map[string][]byte{}
	err := b.List(t.Context(), prefix, "", func(o storage.ObjectInfo) error {
		if !strings.Contains(o.Key, layout.Area+"raw/") {
			return nil
		}
		rc, _, err := b.Get(t.Context(), o.Key)
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		raws[o.Key] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return raws
}

// assertNoFaceData fails if a stored JSON document holds a face feature
// vector or an aligned face image: a key naming one, or any long list of
// numbers (the vendor's vectors have 512 dimensions).
func assertNoFaceData(t *testing.T, name string, data []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Errorf("%s is not JSON: %v", name, err)
		return
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				lk := strings.ToLower(k)
				if strings.Contains(lk, "feature") || strings.Contains(lk, "aligned") {
					t.Errorf("%s: face data at %s.%s", name, path, k)
				}
				walk(path+"."+k, c)
			}
		case []any:
			numbers := 0
			for i, c := range x {
				if _, ok := c.(float64); ok {
					numbers++
				}
				walk(fmt.Sprintf("%s.%d", path, i), c)
			}
			if numbers >= 64 {
				t.Errorf("%s: a list of %d numbers at %s (a feature vector?)", name, numbers, path)
			}
		case string:
			if x == "aGVsbG8gZmFjZQ==" { // the emulator's aligned face image
				t.Errorf("%s: aligned face image at %s", name, path)
			}
		}
	}
	walk("$", v)
}

// TestFaceCompareBadPairs: either image of a pair missing or unreadable
// ends as one failed result naming which image; a face photo without a face
// is a real outcome (no match, that image counted 0); and pairing a card
// with another face photo, or changing the photo, is new work, not a
// current result.
func TestFaceCompareBadPairs(t *testing.T) {
	s := newStack(t, stack.Options{Config: ekycConfig})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	text := []byte("not an image, just some text\n")
	cases := []struct {
		name       string
		card, face []byte // nil: not uploaded
		code       string // "" for success
		names      string // the image the message must name
	}{
		{"no-face-object", testimages.PNG(1, 32, 24, nil), nil, "source_not_found", "face image"},
		{"no-card-object", nil, testimages.JPEG(2, 32, 32, nil), "source_not_found", "card image"},
		{"face-not-image", testimages.PNG(3, 32, 24, nil), text, "invalid_image", "face image"},
		{"card-not-image", text, testimages.JPEG(4, 32, 32, nil), "invalid_image", "card image"},
		{"face-empty", testimages.PNG(5, 32, 24, nil), []byte{}, "empty_source", "face image"},
		{"nobody", testimages.PNG(6, 32, 24, nil), testimages.JPEG(6, 32, 32, emulator.MarkerNoFace), "", ""},
	}
	var manifest []map[string]any
	for _, c := range cases {
		if c.card != nil {
			put(t, in, "pairs/"+c.name+"/card.png", c.card)
		}
		if c.face != nil {
			put(t, in, "pairs/"+c.name+"/face.jpg", c.face)
		}
		manifest = append(manifest, map[string]any{"uri": "s3://inbox/pairs/" + c.name + "/card.png", "type": "face-compare",
			"faceImage": "s3://inbox/pairs/" + c.name + "/face.jpg"})
	}
	if _, err := s.StartWorker(); err != nil {
		t.Fatal(err)
	}
	producer(t, s, 0, "enqueue", "--out", "s3://outbox/r/", "@"+writeManifest(t, manifest))
	waitResults(t, out, "r/pairs/", len(cases), 60*time.Second)
	for _, c := range cases {
		key := "r/pairs/" + c.name + "/card.png.json"
		r := readResult(t, out, key)
		if c.code == "" {
			continue
		}
		if r.Status != result.StatusFailed || r.Error == nil || r.Error.Code != c.code || r.Fields != nil {
			t.Errorf("%s: status %q error %+v, want failed %s", c.name, r.Status, r.Error, c.code)
			continue
		}
		if !strings.Contains(r.Error.Message, c.names) {
			t.Errorf("%s: message %q does not name the %s", c.name, r.Error.Message, c.names)
		}
	}
	r := readResult(t, out, "r/pairs/nobody/card.png.json")
	var f struct{ Fields *result.FaceCompare }
	if err := json.Unmarshal(r.raw, &f); err != nil || r.Status != result.StatusSucceeded || f.Fields == nil ||
		*f.Fields != (result.FaceCompare{Similarity: 0, Match: false, Faces: result.FaceCount{Card: 1, Face: 0}}) {
		t.Errorf("no face on the photo: %s", r.raw)
	}

	// The same card with another face photo, and then with a changed photo:
	// each is a new comparison, never "already done".
	card := testimages.PNG(7, 32, 24, nil)
	put(t, in, "swap/card.png", card)
	put(t, in, "swap/face-a.jpg", testimages.JPEG(8, 32, 32, nil))
	put(t, in, "swap/face-b.jpg", testimages.JPEG(9, 32, 32, emulator.MarkerNoFace))
	enqueueFace := func(face string, wantEnqueued int) {
		t.Helper()
		o := producer(t, s, 0, "enqueue", "--type", "face-compare", "--face", "s3://inbox/swap/"+face,
			"--out", "s3://outbox/r/", "s3://inbox/swap/card.png")
		if n, _, _ := enqueuedLine(t, o); n != wantEnqueued {
			t.Fatalf("face %s: %q, want %d enqueued", face, o, wantEnqueued)
		}
	}
	faces := func() int {
		t.Helper()
		var f struct {
			FaceSource struct{ SHA256 string } `json:"faceSource"`
			Fields     *result.FaceCompare
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := readResultIfAny(t, out, "r/swap/card.png.json")
			if r != nil {
				if err := json.Unmarshal(r.raw, &f); err == nil && f.Fields != nil {
					return f.Fields.Faces.Face
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no face-compare result for swap/card.png")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	enqueueFace("face-a.jpg", 1)
	if n := faces(); n != 1 {
		t.Fatalf("face-a: %d faces on the photo, want 1", n)
	}
	enqueueFace("face-a.jpg", 0) // the same pair is current
	enqueueFace("face-b.jpg", 1) // another photo is not
	waitFaces(t, faces, 0, "face-b")
	put(t, in, "swap/face-b.jpg", testimages.JPEG(10, 32, 32, nil)) // the photo changed
	enqueueFace("face-b.jpg", 1)
	waitFaces(t, faces, 1, "changed face-b")
}

// waitFaces waits until the pair's result counts want faces on the photo.
func waitFaces(t *testing.T, faces func() int, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for faces() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the result was not replaced (faces on the photo %d, want %d)", what, faces(), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readResultIfAny reads a result, or returns nil when there is none yet.
func readResultIfAny(t *testing.T, b storage.Bucket, key string) *Result {
	t.Helper()
	if _, err := b.Head(t.Context(), key); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	r := readResult(t, b, key)
	return &r
}
