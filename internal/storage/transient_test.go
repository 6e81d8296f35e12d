package storage_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// apiError has the shape of the AWS SDK's errors (smithy.APIError plus the
// HTTP response error), which IsTransient inspects through interfaces.
type apiError struct {
	code   string
	status int
}

func (e apiError) Error() string       { return fmt.Sprintf("api error %s (%d)", e.code, e.status) }
func (e apiError) ErrorCode() string   { return e.code }
func (e apiError) HTTPStatusCode() int { return e.status }

func TestIsTransient(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("s3 get s3://b/k: %w", err) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", wrap(storage.ErrNotFound), false},
		{"not found with SDK error", fmt.Errorf("x: %w: %w", storage.ErrNotFound, apiError{"NoSuchKey", 404}), false},
		{"precondition", fmt.Errorf("x: %w: %w", storage.ErrPreconditionFailed, apiError{"PreconditionFailed", 412}), false},
		{"invalid key, even with a transient-looking cause", fmt.Errorf("x: %w: %w", storage.ErrInvalidKey, syscall.ECONNRESET), false},
		{"slow down", wrap(apiError{"SlowDown", 503}), true},
		{"internal error", wrap(apiError{"InternalError", 500}), true},
		{"unknown 502", wrap(apiError{"", 502}), true},
		{"too many requests", wrap(apiError{"", 429}), true},
		{"access denied", wrap(apiError{"AccessDenied", 403}), false},
		{"no such bucket", wrap(apiError{"NoSuchBucket", 404}), false},
		{"connection refused", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"connection reset", wrap(syscall.ECONNRESET), true},
		{"deadline", wrap(context.DeadlineExceeded), true},
		{"cancelled", wrap(context.Canceled), false},
		{"plain error", errors.New("bad input"), false},
	}
	for _, tt := range tests {
		if got := storage.IsTransient(tt.err); got != tt.want {
			t.Errorf("%s: IsTransient(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
