package storage

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// transientCodes are S3 (and MinIO) error codes that mean "try again
// later": the store is overloaded, throttling, starting, or failed
// internally. Other codes are judged by their HTTP status.
var transientCodes = map[string]bool{
	"SlowDown":                      true,
	"Throttling":                    true,
	"ThrottlingException":           true,
	"RequestLimitExceeded":          true,
	"TooManyRequests":               true,
	"RequestTimeout":                true,
	"InternalError":                 true,
	"ServiceUnavailable":            true,
	"OperationAborted":              true, // a conflicting operation is in progress
	"XMinioServerNotInitialized":    true,
	"XMinioBackendDown":             true,
	"XMinioServerTimedOut":          true,
	"XMinioReadQuorum":              true,
	"XMinioWriteQuorum":             true,
	"XMinioInsufficientReadQuorum":  true,
	"XMinioInsufficientWriteQuorum": true,
}

// IsTransient reports whether err is worth retrying: a network failure, a
// timeout, a 5xx or 429 answer, or an S3 throttling/internal error code
// (SlowDown, InternalError, ServiceUnavailable, ...). ErrNotFound,
// ErrPreconditionFailed, ErrInvalidKey, authorization and other 4xx errors
// are permanent.
// A cancelled context is not transient: the caller gave up.
//
// It inspects errors through interfaces (ErrorCode, HTTPStatusCode) so this
// package does not depend on any SDK; the AWS SDK's errors satisfy them.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrInvalidKey) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) {
		if transientCodes[coded.ErrorCode()] {
			return true
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if code := status.HTTPStatusCode(); code != 0 {
			return code >= 500 || code == 429 || code == 408
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// IsRejected reports whether the store refused a request for good: a 4xx
// answer that is not a missing object, a failed precondition or throttling
// (access denied, invalid bucket name, key too long). Retrying cannot fix
// it. Errors without an HTTP status (network) are not rejections.
func IsRejected(err error) bool {
	if err == nil || IsTransient(err) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrPreconditionFailed) {
		return false
	}
	var status interface{ HTTPStatusCode() int }
	if !errors.As(err, &status) {
		return false
	}
	code := status.HTTPStatusCode()
	return code >= 400 && code < 500
}

// IsKeyTooLong reports whether the store refused an object key as too long
// (S3's KeyTooLongError, over 1,024 bytes).
func IsKeyTooLong(err error) bool {
	var coded interface{ ErrorCode() string }
	return errors.As(err, &coded) && coded.ErrorCode() == "KeyTooLongError"
}
