package config

import (
	"strings"
	"testing"
	"time"
)

func TestNegativeImageLimitsAreRejected(t *testing.T) {
	for _, tc := range []struct{ yaml, key string }{
		{"redis: {url: redis://x}\nworker: {maxImageBytes: -1}\n", "worker.maxImageBytes"},
		{"redis: {url: redis://x}\nworker: {maxImageBytes: -1}\nvendors:\n  clova: {kind: clova-ocr, url: http://x}\n", "worker.maxImageBytes"},
		{"redis: {url: redis://x}\nvendors:\n  clova: {kind: clova-ocr, url: https://x, maxImageBytes: -5}\n", "vendors.clova.maxImageBytes"},
		{"redis: {url: redis://x}\nbatches: {retention: -1h}\n", "batches.retention"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%q: error %v, want one naming %s", tc.yaml, err, tc.key)
		}
	}
}

func TestBucketAllowListsAndRetention(t *testing.T) {
	c, err := Parse([]byte("redis: {url: redis://x}\nstorage: {buckets: {read: [ocr-in], write: [ocr-out]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Storage.Buckets
	if !b.CanRead("ocr-in") || b.CanRead("ocr-out") || !b.CanWrite("ocr-out") || b.CanWrite("ocr-in") {
		t.Errorf("allow-lists %+v", b)
	}
	if c.Batches.Retention.D() != 720*time.Hour {
		t.Errorf("batches.retention default %v, want 720h", c.Batches.Retention.D())
	}
	c, err = Parse([]byte("redis: {url: redis://x}\nbatches: {retention: 1h}\n"))
	if err != nil || c.Batches.Retention.D() != time.Hour || !c.Storage.Buckets.CanRead("any") {
		t.Errorf("%v %+v", err, c)
	}
	if _, err := Parse([]byte("redis: {url: redis://x}\nstorage: {buckets: {read: [\"\"]}}\n")); err == nil || !strings.Contains(err.Error(), "storage.buckets.read:") {
		t.Errorf("empty bucket name: %v", err)
	}
}
