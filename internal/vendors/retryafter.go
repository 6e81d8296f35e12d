package vendors

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter is the longest Retry-After ParseRetryAfter returns: longer
// (or overflowing) values saturate here. The wait actually honoured is
// capped much lower where it is shared (internal/ratelimit,
// worker.maxRetryAfter).
const MaxRetryAfter = time.Duration(math.MaxInt64)

// ParseRetryAfter reads an HTTP Retry-After value, delay-seconds or an
// HTTP date, as the wait left at now. Missing, negative, past or
// unreadable values are 0.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || isRangeErr(err) {
		if err != nil || s > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// RetryAfter is the Retry-After of an answer's headers, as the wait left now.
func RetryAfter(h http.Header) time.Duration {
	return ParseRetryAfter(h.Get("Retry-After"), time.Now())
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
