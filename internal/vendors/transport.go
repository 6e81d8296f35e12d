package vendors

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/ocrbatch/ocrworker/internal/loopback"
	"github.com/ocrbatch/ocrworker/internal/ocrerr"
)

// CheckURL is the one rule for a vendor URL: absolute https, or plain http
// to a loopback host (tests, a local emulator). insecure (the vendor's
// config "insecure: true") also allows plain http to other hosts, for a
// private network the operator trusts. Secrets travel in headers, so plain
// http anywhere else would hand them to every hop on the way.
func CheckURL(raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New("url must be an absolute http(s) URL")
	}
	if u.Scheme == "http" && !insecure && !loopback.Host(u.Hostname()) {
		return nil, errors.New("url: plain http:// is allowed only to loopback hosts; use https:// or set insecure: true")
	}
	return u, nil
}

// NoRedirects returns a copy of hc (nil: a new client) that never follows a
// redirect. A vendor that redirects would otherwise receive the request,
// secret header included, at whatever host the Location names. The 3xx
// answer comes back to the caller, who turns it into RedirectError.
func NoRedirects(hc *http.Client) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// IsRedirect reports whether an HTTP status is a redirect answer.
func IsRedirect(status int) bool { return status >= 300 && status < 400 }

// RedirectError is the permanent failure of a call answered with a
// redirect. It names the status only: the Location may hold anything.
func RedirectError(status int) *ocrerr.Error {
	return ocrerr.Permanent(ocrerr.VendorRedirect, "vendor answered HTTP %d (a redirect); redirects are never followed", status).
		WithVendor("", status)
}

// TransportError classifies a call that got no complete answer (the round
// trip failed, or the answer was cut short): a retryable
// vendor_unavailable named for the vendor ("CLOVA OCR call timed out"). An
// error already classified (an image that could not be read) is returned
// as it is. The cause is kept without the request URL: a url.Error quotes
// it, and vendor URLs hold account ids and app keys.
func TransportError(ctx context.Context, vendor string, err error) *ocrerr.Error {
	if e, ok := ocrerr.As(err); ok {
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := vendor + " unreachable"
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg = vendor + " call timed out"
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		msg = vendor + " call canceled"
	}
	return ocrerr.Transient(ocrerr.VendorUnavailable, "%s", msg).Wrap(err)
}

// OtherCode replaces a vendor code that is not of a documented shape.
const OtherCode = "other"

// DocumentedCode returns code when it has the documented shape, exactly
// digits ASCII digits (CLOVA "0025", its API Gateway "420"), "" when the
// vendor gave none, else OtherCode. Vendor codes reach logs, results and
// Redis, so an answer that echoes a value there must not carry it along.
func DocumentedCode(code string, digits int) string {
	if code == "" {
		return ""
	}
	if len(code) != digits {
		return OtherCode
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return OtherCode
		}
	}
	return code
}
