// Package vendorset is the one list of vendor drivers: the only package
// that knows every vendor package, so the vendor packages never know each
// other and the pipeline and the config know none of them. Adding a vendor
// is its own package (with its vendors.Driver) and one line in Drivers.
package vendorset

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/clovaocr"
	"github.com/ocrbatch/ocrworker/internal/vendors/ekyc"
	"github.com/ocrbatch/ocrworker/internal/vendors/nhn"
)

// Drivers are the vendor kinds this build knows, in the order error
// messages list them.
var Drivers = []*vendors.Driver{&clovaocr.Driver, &ekyc.Driver, &nhn.Driver}

// Lookup returns the driver of a config kind, nil for a kind not built in.
func Lookup(kind string) *vendors.Driver {
	for _, d := range Drivers {
		if d.Kind == kind {
			return d
		}
	}
	return nil
}

// KindList is the kinds for a message: "a, b or c".
func KindList() string {
	ks := make([]string, len(Drivers))
	for i, d := range Drivers {
		ks[i] = d.Kind
	}
	if len(ks) < 2 {
		return strings.Join(ks, "")
	}
	return strings.Join(ks[:len(ks)-1], ", ") + " or " + ks[len(ks)-1]
}

// New builds the client of one configured vendor account, with its own
// connection pool.
func New(name string, a vendors.Account) (vendors.Client, error) {
	d := Lookup(a.Kind)
	if d == nil {
		return nil, fmt.Errorf("vendors.%s.kind: unknown kind %q", name, a.Kind)
	}
	if a.HTTPClient == nil {
		a.HTTPClient = httpClient(a.Concurrency)
	}
	c, err := d.New(a)
	if err != nil {
		return nil, fmt.Errorf("vendors.%s: %w", name, err)
	}
	return c, nil
}

// httpClient is one connection pool per vendor account, sized to its
// concurrency so keep-alive connections are reused rather than churned.
func httpClient(concurrency int) *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          concurrency * 2,
		MaxIdleConnsPerHost:   concurrency * 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: t}
}

// MaskRaw applies today's masking of the vendor kind to a stored raw copy,
// then the free-text scrub every raw copy gets (producer remask). A kind
// this version does not know gets the scrub only.
func MaskRaw(kind string, stored []byte) ([]byte, error) {
	out := stored
	if d := Lookup(kind); d != nil {
		masked, err := d.MaskRaw(stored)
		if err != nil {
			return nil, err
		}
		out = masked
	}
	b, _, err := normalize.ScrubRaw(out)
	return b, err
}
