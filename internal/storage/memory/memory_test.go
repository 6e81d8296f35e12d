package memory_test

import (
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage/memory"
	"github.com/ocrbatch/ocrworker/internal/storage/storagetest"
)

func TestAcceptance(t *testing.T) {
	storagetest.AcceptanceTest(t, memory.New().Bucket("test"))
}

func TestStoreReturnsSameBucket(t *testing.T) {
	s := memory.New()
	if s.Bucket("a") != s.Bucket("a") {
		t.Error("Bucket(name) returned two different buckets for one name")
	}
	if s.Bucket("a") == s.Bucket("b") {
		t.Error("Bucket returned one bucket for two names")
	}
}
