package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Codes of a failed attempt: the state's LastCode and, grouped, the
// attempts metric's outcome. They never carry the URL.
const (
	codeRefused  = "refused_url" // the URL breaks the https/loopback rule
	codeRedirect = "redirect"    // the receiver answered 3xx; redirects are not followed
	codeTimeout  = "timeout"
	codeTLS      = "tls" // certificate not trusted or TLS handshake failed
	codeNetwork  = "network"
)

// httpCode is the code of a non-2xx answer: http_503.
func httpCode(status int) string { return "http_" + strconv.Itoa(status) }

// newHTTPClient follows no redirect (a 3xx is a failed attempt: a redirect
// could lead a signed body to another host, or from https to http) and
// always verifies TLS; roots nil means the system pool.
func newHTTPClient(roots *x509.CertPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return &http.Client{
		Transport: tr,
		Timeout:   requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// send POSTs one delivery and returns "" when the receiver answered 2xx,
// else the failure's code.
func send(ctx context.Context, c *http.Client, r Receiver, d delivery, now time.Time) string {
	if err := checkURL(r.URL, r.Insecure); err != nil {
		return codeRefused
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(d.Body))
	if err != nil {
		return codeRefused
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ocrworker-webhook/1")
	req.Header.Set(HeaderEvent, d.Event)
	req.Header.Set(HeaderDelivery, d.ID)
	req.Header.Set(HeaderSignature, Sign(r.Secret, now, d.Body))
	resp, err := c.Do(req)
	if err != nil {
		return classify(err)
	}
	// Drain a little so the connection can be reused; ignore the rest.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return ""
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return codeRedirect
	default:
		return httpCode(resp.StatusCode)
	}
}

// classify names a transport error without its text (which holds the URL).
func classify(err error) string {
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &recErr):
		return codeTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return codeTimeout
	default:
		return codeNetwork
	}
}

// outcomeOf groups an attempt's code into the metric's bounded outcome.
func outcomeOf(code string) string {
	switch {
	case code == "":
		return "ok"
	case len(code) == len("http_000") && code[:5] == "http_":
		return "http_" + code[5:6] + "xx"
	default:
		return code
	}
}
