package storage

import (
	"errors"
	"fmt"
)

// ErrNoBucket: the bucket does not exist. Retrying cannot help.
var ErrNoBucket = errors.New("bucket does not exist")

// NoBucketError says which bucket does not exist. Its message is only
// that: the store's own error (an SDK chain with request IDs) stays in the
// chain for errors.As and IsTransient, not in the text people read.
type NoBucketError struct {
	Bucket string
	Err    error // the store's error
}

func (e *NoBucketError) Error() string        { return fmt.Sprintf("bucket %q does not exist", e.Bucket) }
func (e *NoBucketError) Unwrap() error        { return e.Err }
func (e *NoBucketError) Is(target error) bool { return target == ErrNoBucket }
