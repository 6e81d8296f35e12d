package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// nhnVerifyConfig is the default stack config plus a second NHN account
// whose config says `verify: true`.
var nhnVerifyConfig = strings.Replace(stack.DefaultConfig, "\nroutes:", `
  nhn-verify:
    kind: nhn-ocr
    url: {{EMU}}/nhn
    appKey: ${NHN_OCR_APPKEY}
    secret: ${NHN_OCR_SECRET}
    rateLimit: {rps: 200, burst: 50}
    timeout: 10s
    verify: true
routes:`, 1)

// TestNHNEndpoints drives every NHN endpoint through the built producer and
// worker, Redis and MinIO against the emulator: credit-card, id-card
// stand-alone (default), id-card + id-card/authenticity (by --verify, by a
// manifest line, by config `verify: true`), a forged card (authentic false).
// Afterwards no whole card or resident number from the images may appear in
// any log line or in any Redis key or value.
func TestNHNEndpoints(t *testing.T) {
	if !strings.Contains(nhnVerifyConfig, "nhn-verify:") {
		t.Fatal("could not extend the default config")
	}
	s := newStack(t, stack.Options{Config: nhnVerifyConfig})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")

	type doc struct {
		img          []byte
		typ          string
		endpoint     string
		authenticity *result.Authenticity // nil: no check must have run
	}
	docs := map[string]doc{} // source key -> expectation
	add := func(key string, img []byte, typ, endpoint string, auth *result.Authenticity) {
		put(t, in, key, img)
		docs[key] = doc{img, typ, endpoint, auth}
	}
	authentic := &result.Authenticity{Checked: true, Authentic: true}
	forged := &result.Authenticity{Checked: true, Authentic: false}
	var manifest []map[string]any
	for i := 0; i < 4; i++ {
		seed := int64(100 + i)
		img, ext := testimages.PNG(seed, 40, 28, nil), "png"
		if i%2 == 1 {
			img, ext = testimages.JPEG(seed, 40, 28, nil), "jpg"
		}
		add(fmt.Sprintf("nhn/card/%d.%s", i, ext), img, result.TypeCreditCard, "credit-card", nil)
		add(fmt.Sprintf("nhn/id-plain/%d.png", i), testimages.PNG(seed+10, 40, 28, nil), result.TypeIDCard, "id-card/stand-alone", nil)
		add(fmt.Sprintf("nhn/id-verify/%d.png", i), testimages.PNG(seed+20, 40, 28, nil), result.TypeIDCard, "id-card", authentic)
		add(fmt.Sprintf("nhn/id-config/%d.jpg", i), testimages.JPEG(seed+30, 40, 28, nil), result.TypeIDCard, "id-card", authentic)
		key := fmt.Sprintf("nhn/id-manifest/%d.png", i)
		add(key, testimages.PNG(seed+40, 40, 28, nil), result.TypeIDCard, "id-card", authentic)
		manifest = append(manifest, map[string]any{"uri": "s3://inbox/" + key, "type": result.TypeIDCard, "vendor": "nhn", "verify": true})
	}
	add("nhn/id-verify/forged.png", testimages.PNG(150, 40, 28, emulator.MarkerNotAuthentic), result.TypeIDCard, "id-card", forged)
	add("nhn/id-config/forged.png", testimages.PNG(151, 40, 28, emulator.MarkerNotAuthentic), result.TypeIDCard, "id-card", forged)

	// Debug logging: the most a worker ever says about a document.
	if _, err := s.StartWorker("--concurrency", "8", "--log-level", "debug"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--type", "credit-card", "--vendor", "nhn", "s3://inbox/nhn/card/"},
		{"--type", "id-card", "--vendor", "nhn", "s3://inbox/nhn/id-plain/"},
		{"--type", "id-card", "--vendor", "nhn", "--verify", "s3://inbox/nhn/id-verify/"},
		{"--type", "id-card", "--vendor", "nhn-verify", "s3://inbox/nhn/id-config/"},
		{"@" + writeManifest(t, manifest)},
	} {
		o := producer(t, s, 0, append([]string{"enqueue", "--out", "s3://outbox/r/", "--log-level", "debug"}, args...)...)
		if n, skipped, _ := enqueuedLine(t, o); n == 0 || skipped != 0 {
			t.Fatalf("enqueue %v: %q", args, o)
		}
	}

	keys := waitResults(t, out, "r/", len(docs), 90*time.Second)
	if len(keys) != len(docs) {
		t.Fatalf("%d results, want %d", len(keys), len(docs))
	}
	for key, d := range docs {
		r := readResult(t, out, "r/"+key+".json")
		if r.Status != result.StatusSucceeded || r.DocumentType != d.typ || r.Attempts != 1 {
			t.Errorf("%s: status %q type %q attempts %d error %+v", key, r.Status, r.DocumentType, r.Attempts, r.Error)
			continue
		}
		if r.Vendor["kind"] != "nhn-ocr" || r.Vendor["endpoint"] != d.endpoint {
			t.Errorf("%s: vendor %v, want endpoint %s", key, r.Vendor, d.endpoint)
		}
		if r.Source["sha256"] != sha(d.img) {
			t.Errorf("%s: source %v", key, r.Source)
		}
		checkFields(t, key, d.typ, r.Fields, d.img)
		got, ok := r.Fields.(map[string]any)["authenticity"]
		switch {
		case d.authenticity == nil && ok:
			t.Errorf("%s: authenticity %v, but no check was asked for", key, got)
		case d.authenticity != nil && !jsonEqual(got, d.authenticity):
			t.Errorf("%s: authenticity %v, want %+v", key, got, *d.authenticity)
		}
	}

	// The emulator saw the chain: one authenticity call per verified card.
	var stats emulator.Stats
	getJSON(t, s, "nhn", "stats", &stats)
	verified := 0
	for _, d := range docs {
		if d.authenticity != nil {
			verified++
		}
	}
	if n := stats.Calls["id-card/authenticity ok"]; n != verified {
		t.Errorf("authenticity calls %d, want %d (calls %v)", n, verified, stats.Calls)
	}
	if stats.DuplicateRequestIDs != 0 {
		t.Errorf("a symmetric key was reused %d times", stats.DuplicateRequestIDs)
	}

	assertNoSecrets(t, s)
	var personal []string
	for _, d := range docs {
		personal = append(personal, personalValues(d.img)...)
	}
	logs, err := s.Logs()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range personal {
		if strings.Contains(logs, v) {
			t.Errorf("a whole personal number appears in a log line")
			break
		}
	}
	assertNotInRedis(t, s, personal)
	// Results are masked by default: no whole number in them either.
	for key := range keys {
		r := readResult(t, out, key)
		for _, v := range personal {
			if strings.Contains(string(r.raw), v) {
				t.Errorf("%s holds a whole personal number", key)
			}
		}
	}
}

// TestNHNKeyRotationMidBatch: the emulator's public key is rotated while a
// batch runs; the worker's cached key goes stale, and every document still
// succeeds on its first attempt (the client refetches and re-sends).
func TestNHNKeyRotationMidBatch(t *testing.T) {
	s := newStack(t, stack.Options{})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	// Slow answers keep the batch running long enough to rotate inside it.
	setBehavior(t, s, "nhn", emulator.Behavior{Latency: 150 * time.Millisecond})

	images := map[string][]byte{}
	for i := 0; i < 24; i++ {
		typ := result.TypeCreditCard
		if i%2 == 1 {
			typ = result.TypeIDCard
		}
		key := fmt.Sprintf("rot/%s/%02d.png", typ, i)
		images[key] = testimages.PNG(int64(300+i), 32, 24, nil)
		put(t, in, key, images[key])
	}
	if _, err := s.StartWorker("--concurrency", "2"); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{result.TypeCreditCard, result.TypeIDCard} {
		producer(t, s, 0, "enqueue", "--type", typ, "--vendor", "nhn", "--verify", "--out", "s3://outbox/r/", "--batch", "rotation",
			"s3://inbox/rot/"+typ+"/")
	}
	// Rotate once the worker holds keys and has documents left.
	done := waitResults(t, out, "r/", 4, 60*time.Second)
	if len(done) >= len(images) {
		t.Fatal("the batch finished before the rotation: nothing tested")
	}
	if _, err := s.EmulatorAdmin(t.Context(), "POST", "nhn", "rotate-key", nil); err != nil {
		t.Fatal(err)
	}
	keys := waitResults(t, out, "r/", len(images), 90*time.Second)
	if len(keys) != len(images) {
		t.Fatalf("%d results, want %d", len(keys), len(images))
	}
	for key, img := range images {
		r := readResult(t, out, "r/"+key+".json")
		if r.Status != result.StatusSucceeded || r.Attempts != 1 {
			t.Errorf("%s: status %q attempts %d error %+v", key, r.Status, r.Attempts, r.Error)
			continue
		}
		checkFields(t, key, r.DocumentType, r.Fields, img)
	}
	// Proof that the stale key was actually hit and recovered from.
	var stats emulator.Stats
	getJSON(t, s, "nhn", "stats", &stats)
	stale := 0
	for k, n := range stats.Calls {
		if strings.HasSuffix(k, " rejected:4000301") { // INVALID_KEY_VERSION
			stale += n
		}
	}
	if stale == 0 {
		t.Errorf("no call met the stale key version: calls %v", stats.Calls)
	}
	if stats.Calls["public-keys ok"] < 3 {
		t.Errorf("public keys fetched %d times, want the first two and a refetch after rotation", stats.Calls["public-keys ok"])
	}
	if st := producer(t, s, 0, "status", "rotation"); !strings.Contains(st, fmt.Sprintf("succeeded %d", len(images))) {
		t.Errorf("status: %q", st)
	}
}

// personalValues are the whole personal numbers an image shows, in the
// spellings a leak could take (with and without separators).
func personalValues(img []byte) []string {
	d := emulator.Derive(img)
	card := d.CardNumber
	return []string{
		card,
		card[0:4] + "-" + card[4:8] + "-" + card[8:12] + "-" + card[12:16],
		card[0:4] + " " + card[4:8] + " " + card[8:12] + " " + card[12:16],
		d.PersonalNumber,
		strings.ReplaceAll(d.PersonalNumber, "-", ""),
	}
}

// assertNotInRedis reads every key and value in the Redis database the
// product's config names and fails if one of the values appears.
func assertNotInRedis(t *testing.T, s *stack.Stack, values []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	opt, err := redis.ParseURL(s.Redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	var all strings.Builder
	nkeys := 0
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		nkeys++
		all.WriteString(key + "\n")
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		switch typ {
		case "string":
			v, err := rdb.Get(ctx, key).Result()
			if err != nil && err != redis.Nil {
				t.Fatal(err)
			}
			parts = []string{v}
		case "hash":
			m, err := rdb.HGetAll(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range m {
				parts = append(parts, k, v)
			}
		case "list":
			parts, err = rdb.LRange(ctx, key, 0, -1).Result()
		case "set":
			parts, err = rdb.SMembers(ctx, key).Result()
		case "zset":
			parts, err = rdb.ZRange(ctx, key, 0, -1).Result()
		case "stream":
			msgs, serr := rdb.XRange(ctx, key, "-", "+").Result()
			err = serr
			for _, m := range msgs {
				b, _ := json.Marshal(m.Values)
				parts = append(parts, string(b))
			}
		case "none": // expired between SCAN and TYPE
		default:
			t.Fatalf("redis key %q of unexpected type %s: not inspected", key, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			all.WriteString(p + "\n")
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if nkeys == 0 {
		t.Fatal("redis holds no keys at all: the check proves nothing")
	}
	text := all.String()
	for _, v := range values {
		if strings.Contains(text, v) {
			t.Errorf("a whole personal number appears in Redis")
			return
		}
	}
	t.Logf("inspected %d redis keys (%d bytes)", nkeys, len(text))
}

func setBehavior(t *testing.T, s *stack.Stack, vendor string, b emulator.Behavior) {
	t.Helper()
	body, _ := json.Marshal(b)
	if _, err := s.EmulatorAdmin(t.Context(), "PUT", vendor, "behavior", body); err != nil {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, s *stack.Stack, vendor, path string, v any) {
	t.Helper()
	b, err := s.EmulatorAdmin(t.Context(), "GET", vendor, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("emulator %s %s: %v: %s", vendor, path, err, b)
	}
}

// jsonEqual compares a decoded JSON value with a Go value through JSON.
func jsonEqual(got, want any) bool {
	return reflect.DeepEqual(jsonRoundTrip(got), jsonRoundTrip(want))
}
