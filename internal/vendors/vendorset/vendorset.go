// Package vendorset builds the configured vendor clients: the one place
// that knows every vendor package, so the vendor packages never know each
// other and the pipeline knows none of them.
package vendorset

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/normalize"
	"github.com/ocrbatch/ocrworker/internal/vendors"
	"github.com/ocrbatch/ocrworker/internal/vendors/clovaocr"
	"github.com/ocrbatch/ocrworker/internal/vendors/ekyc"
	"github.com/ocrbatch/ocrworker/internal/vendors/nhn"
)

// New builds the client of one configured vendor account.
func New(name string, v *config.Vendor) (vendors.Client, error) {
	hc := httpClient(v.Concurrency)
	var (
		c   vendors.Client
		err error
	)
	switch v.Kind {
	case config.KindClovaOCR:
		c, err = clovaocr.New(clovaocr.Options{URL: v.URL, Secret: v.Secret, Mode: v.Mode, Insecure: v.Insecure, HTTPClient: hc, Timeout: v.Timeout.D()})
	case config.KindClovaEKYC:
		c, err = ekyc.New(ekyc.Options{URL: v.URL, Secret: v.Secret, Mode: v.Mode, Insecure: v.Insecure, HTTPClient: hc, Timeout: v.Timeout.D(),
			MatchThreshold: v.MatchThreshold})
	case config.KindNHNOCR:
		c, err = nhn.New(nhn.Options{URL: v.URL, AppKey: v.AppKey, Secret: v.Secret, Insecure: v.Insecure, HTTPClient: hc, Timeout: v.Timeout.D(),
			KeyRefresh: v.KeyRefresh.D(), Verify: v.Verify})
	default:
		return nil, fmt.Errorf("vendors.%s.kind: unknown kind %q", name, v.Kind)
	}
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
	var (
		out json.RawMessage
		err error
	)
	switch kind {
	case config.KindClovaOCR:
		out, err = clovaocr.MaskRaw(stored)
	case config.KindClovaEKYC:
		out, err = ekyc.MaskRaw(stored)
	case config.KindNHNOCR:
		out, err = nhn.MaskRaw(stored)
	default:
		out = stored
	}
	if err != nil {
		return nil, err
	}
	b, _, err := normalize.ScrubRaw(out)
	return b, err
}
