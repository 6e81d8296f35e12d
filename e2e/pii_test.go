package e2e

import (
	"bytes"
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

// piiNote is free text with a resident and a card number, printed by the
// emulator in addresses, item names and a medical cell (MarkerNote).
const piiNote = "주민 800101-1234567 카드 4111-1111-1111-1111"

var piiConfig = strings.Replace(stack.DefaultConfig, "    mode: multipart\n", "    mode: multipart\n    keepRaw: true\n", 1)

// Masked mode, through the real binaries: no whole resident or card number
// from free text reaches a result or a raw copy; producer remask rewrites
// an old result that holds one.
func TestMaskedModeScrubsFreeTextEndToEnd(t *testing.T) {
	if !strings.Contains(piiConfig, "keepRaw: true") {
		t.Fatal("could not extend the default config")
	}
	s := newStack(t, stack.Options{Config: piiConfig})
	in, out := bucket(t, s, "inbox"), bucket(t, s, "outbox")
	marker := append(append([]byte{}, emulator.MarkerNote...), piiNote+";"...)
	types := []string{result.TypeReceipt, result.TypeNameCard, result.TypeMedicalReceipt, result.TypeIDCard, result.TypeBizLicense}
	for i, typ := range types {
		put(t, in, "pii/"+typ+"/a.png", testimages.PNG(int64(900+i), 48, 32, marker))
	}
	worker, err := s.StartWorker("--concurrency", "4")
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Stop()
	for _, typ := range types {
		producer(t, s, 0, "enqueue", "--type", typ, "--vendor", "clova", "--out", "s3://outbox/masked/", "s3://inbox/pii/"+typ+"/")
	}
	waitResults(t, out, "masked/", len(types), 2*time.Minute)
	for _, typ := range types {
		key := "masked/pii/" + typ + "/a.png.json"
		r := readResult(t, out, key)
		if r.Status != result.StatusSucceeded {
			t.Fatalf("%s: %s %+v", key, r.Status, r.Error)
		}
		assertNoWholeNumbers(t, key, r.raw)
		if !bytes.Contains(r.raw, []byte("주민 800101-1****** 카드 4111-11**-****-1111")) {
			t.Errorf("%s: the note is not in the result, masked:\n%s", key, r.raw)
		}
		assertNoWholeNumbers(t, key+" raw copy", getObject(t, out, layout.RawKey("masked/", "pii/"+typ+"/a.png")))
	}

	// An older version's result holding whole numbers: remask rewrites it.
	old := bytes.ReplaceAll(readResult(t, out, "masked/pii/receipt/a.png.json").raw,
		[]byte("주민 800101-1****** 카드 4111-11**-****-1111"), []byte(piiNote))
	put(t, out, "old/pii/receipt/a.png.json", old)
	put(t, out, "old/notes.json", []byte(`{"text":"`+piiNote+`"}`))
	producer(t, s, 2, "remask", "s3://outbox/old") // not a prefix: usage error
	o := producer(t, s, 0, "remask", "--dry-run", "s3://outbox/old/")
	if !strings.Contains(o, "1 results read, 1 results and 0 raw copies would be rewritten, 1 objects skipped") {
		t.Errorf("dry run: %q", o)
	}
	if !bytes.Contains(getObject(t, out, "old/pii/receipt/a.png.json"), []byte(piiNote)) {
		t.Fatal("dry run rewrote the result")
	}
	o = producer(t, s, 0, "remask", "s3://outbox/old/", "--config", s.ConfigPath)
	if !strings.Contains(o, "1 results and 0 raw copies rewritten") {
		t.Errorf("remask: %q", o)
	}
	assertNoWholeNumbers(t, "remasked result", getObject(t, out, "old/pii/receipt/a.png.json"))
	if !bytes.Contains(getObject(t, out, "old/notes.json"), []byte(piiNote)) {
		t.Error("remask rewrote an object that is not a result")
	}
	assertNoSecrets(t, s)
}

func assertNoWholeNumbers(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, whole := range []string{"1234567", "4111-1111-1111-1111", "4111111111111111"} {
		if bytes.Contains(b, []byte(whole)) {
			t.Errorf("%s holds %s:\n%s", what, whole, b)
		}
	}
}

func getObject(t *testing.T, b storage.Bucket, key string) []byte {
	t.Helper()
	rc, _, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
