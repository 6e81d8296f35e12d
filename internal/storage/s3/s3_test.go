package s3_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/s3"
	"github.com/ocrbatch/ocrworker/internal/storage/storagetest"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

func TestAcceptanceMinIO(t *testing.T) {
	m := testenv.StartMinIO(t)
	storagetest.AcceptanceTest(t, m.NewBucket(t, "acceptance"))
}

func TestErrors(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx := t.Context()
	b := m.NewBucket(t, "errors")

	_, err := b.Head(ctx, "no/such.jpg")
	if !errors.Is(err, storage.ErrNotFound) || !strings.Contains(err.Error(), "s3://errors/no/such.jpg") {
		t.Errorf("Head(missing) = %v; want ErrNotFound naming the object", err)
	}

	store, err := m.Store(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A missing bucket is a configuration problem, not a missing object.
	_, _, err = store.Bucket("no-such-bucket").Get(ctx, "k")
	if err == nil || errors.Is(err, storage.ErrNotFound) || storage.IsTransient(err) {
		t.Errorf("Get from a missing bucket = %v; want a permanent error other than ErrNotFound", err)
	}
	// It says so in a few words; the SDK's chain (request IDs, operation
	// names) stays out of the message but in the chain.
	err = store.Bucket("no-such-bucket").List(ctx, "in/", "", func(storage.ObjectInfo) error { return nil })
	if want := `s3 list s3://no-such-bucket/in/: bucket "no-such-bucket" does not exist`; err == nil || err.Error() != want {
		t.Errorf("List of a missing bucket = %v; want %q", err, want)
	}
	var nb *storage.NoBucketError
	if !errors.As(err, &nb) || nb.Bucket != "no-such-bucket" || !errors.Is(err, storage.ErrNoBucket) || storage.IsTransient(err) {
		t.Errorf("List of a missing bucket = %#v; want a permanent NoBucketError", err)
	}

	opts := m.Options()
	opts.SecretKey = "wrong-secret-" + m.SecretKey[:6]
	bad, err := s3.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Bucket("errors").Put(ctx, "k", bytes.NewReader([]byte("x")), 1, storage.PutOptions{})
	if err == nil || storage.IsTransient(err) || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Put with a wrong secret = %v; want a permanent error", err)
	}
	if err != nil && (strings.Contains(err.Error(), opts.SecretKey) || strings.Contains(err.Error(), m.SecretKey)) {
		t.Errorf("error message contains a secret key: %v", err)
	}
}

func TestNewRejectsHalfCredentials(t *testing.T) {
	if _, err := s3.New(t.Context(), s3.Options{AccessKey: "only-the-id"}); err == nil {
		t.Error("New with an access key but no secret: want an error")
	}
}

func TestFileBucketNeverReachesS3(t *testing.T) {
	store, err := s3.New(t.Context(), s3.Options{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Bucket("/data").Head(t.Context(), "in/a.jpg")
	if err == nil || !strings.Contains(err.Error(), "storage.Router") || storage.IsTransient(err) {
		t.Errorf("Head on a file root through the S3 store: %v, want a permanent error naming storage.Router", err)
	}
}

// S3 refuses keys over 1,024 bytes with a 400: permanent and recognised
// as such (the worker fails the source as key_too_long, no retry loop).
func TestKeyTooLongIsPermanent(t *testing.T) {
	m := testenv.StartMinIO(t)
	b := m.NewBucket(t, "longkeys")
	key := strings.Repeat("k", 1025)
	_, err := b.Put(t.Context(), key, bytes.NewReader([]byte("x")), 1, storage.PutOptions{})
	if err == nil || storage.IsTransient(err) || !storage.IsRejected(err) || !storage.IsKeyTooLong(err) {
		t.Errorf("Put(1025-byte key) = %v; transient %v rejected %v key-too-long %v, want a permanent key-too-long error",
			err, storage.IsTransient(err), storage.IsRejected(err), storage.IsKeyTooLong(err))
	}
}
