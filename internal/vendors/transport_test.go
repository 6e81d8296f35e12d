package vendors

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

func TestTransportError(t *testing.T) {
	const secretURL = "https://api.example/v2.0/appkeys/APPKEY-123/id-card"
	refused := &url.Error{Op: "Post", URL: secretURL, Err: errors.New("connection refused")}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"refused", context.Background(), refused, "CLOVA OCR unreachable"},
		{"deadline in the cause", context.Background(), &url.Error{Op: "Post", URL: secretURL, Err: context.DeadlineExceeded}, "CLOVA OCR call timed out"},
		{"canceled context", canceled, refused, "CLOVA OCR call canceled"},
	} {
		e := TransportError(tc.ctx, "CLOVA OCR", tc.err)
		if e.Message != tc.want || e.Code != ocrerr.VendorUnavailable || !e.Retryable {
			t.Errorf("%s: %+v; want retryable vendor_unavailable %q", tc.name, e, tc.want)
		}
		if strings.Contains(e.Error(), "APPKEY") || strings.Contains(ocrerr.Redact(e).Error(), "APPKEY") {
			t.Errorf("%s: the URL reached the error: %v", tc.name, e)
		}
	}
	classified := ocrerr.Permanent(ocrerr.TooLarge, "image over the limit")
	if got := TransportError(context.Background(), "x", classified); got != classified {
		t.Errorf("a classified error was rewrapped: %v", got)
	}
}
