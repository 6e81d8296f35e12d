// Package nhn is the client of NHN Cloud's Document OCR API v2.0 (seed 001):
// credit cards and identity documents, with envelope encryption (envelope.go)
// of the image, of the authenticity request and of sensitive answer values.
package nhn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Kind is the configuration "kind" of this vendor.
const Kind = "nhn-ocr"

// DefaultURL is NHN's current OCR host (the old ocr.api.nhncloudservice.com
// is served until 2027-07-31, per shared/seeds/README.md).
const DefaultURL = "https://api-ocr.nhncloudservice.com"

// Public-key services and endpoints, relative to /v2.0/appkeys/{appKey}/.
const (
	serviceCreditCard    = "credit-card"
	serviceIDCard        = "id-card"
	endpointCreditCard   = "credit-card"
	endpointIDCard       = "id-card"
	endpointAuthenticity = "id-card/authenticity"
	endpointStandAlone   = "id-card/stand-alone"
)

// Options configure one NHN OCR account.
type Options struct {
	URL        string        // base URL; default DefaultURL. /v2.0/appkeys/{appKey}/... is appended
	AppKey     string        // required
	Secret     string        // the secret key, sent as Authorization; required
	Insecure   bool          // allow plain http:// beyond loopback (vendors.CheckURL)
	HTTPClient *http.Client  // default: a new http.Client; redirects are never followed
	Timeout    time.Duration // per HTTP call; default vendors.TimeoutDefault
	KeyRefresh time.Duration // how long a fetched public key is trusted; default KeyRefreshDefault
	Verify     bool          // id-card: run the authenticity check for every task
}

// Client is one NHN OCR account. It is safe for concurrent use.
type Client struct {
	base    string // ".../v2.0/appkeys/{appKey}/"
	secret  string
	http    *http.Client
	timeout time.Duration
	verify  bool
	keys    *keyRing
}

var _ vendors.Client = (*Client)(nil)

// New checks o and returns a client.
func New(o Options) (*Client, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if _, err := vendors.CheckURL(o.URL, o.Insecure); err != nil {
		return nil, fmt.Errorf("nhn: %w", err)
	}
	if o.AppKey == "" {
		return nil, errors.New("nhn: appKey is required")
	}
	if o.Secret == "" {
		return nil, errors.New("nhn: secret is required")
	}
	o.HTTPClient = vendors.NoRedirects(o.HTTPClient)
	if o.Timeout <= 0 {
		o.Timeout = vendors.TimeoutDefault
	}
	if o.KeyRefresh <= 0 {
		o.KeyRefresh = KeyRefreshDefault
	}
	c := &Client{
		base:    strings.TrimRight(o.URL, "/") + "/v2.0/appkeys/" + url.PathEscape(o.AppKey) + "/",
		secret:  o.Secret,
		http:    o.HTTPClient,
		timeout: o.Timeout,
		verify:  o.Verify,
	}
	c.keys = newKeyRing(c.fetchKey, o.KeyRefresh, o.Timeout)
	return c, nil
}

func (c *Client) Kind() string                      { return Kind }
func (c *Client) Supports(documentType string) bool { return Driver.Reads(documentType) }
func (c *Client) Formats() []string                 { return slices.Clone(Driver.Formats) }

// Recognize reads one credit card or identity document. For an id-card with
// Verify it runs id-card then id-card/authenticity; a stale public key is
// refreshed and the call re-sent once inside, so it never fails a document.
func (c *Client) Recognize(ctx context.Context, req *vendors.Request) (*vendors.Response, error) {
	if !c.Supports(req.DocumentType) {
		return nil, ocrerr.Permanent(ocrerr.UnknownDocumentType, "nhn-ocr does not read %q", req.DocumentType)
	}
	if f := req.Image.Format; f != "" && f != "jpg" && f != "jpeg" && f != "png" {
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "nhn-ocr does not take %s images", f)
	}
	if req.DocumentType == result.TypeCreditCard {
		return c.creditCard(ctx, req)
	}
	if req.Verify || c.verify {
		return c.verifiedIDCard(ctx, req)
	}
	return c.idCard(ctx, req, endpointStandAlone)
}

func (c *Client) creditCard(ctx context.Context, req *vendors.Request) (*vendors.Response, error) {
	ans, err := c.post(ctx, serviceCreditCard, endpointCreditCard, nil, imageBody(req.Image))
	if err != nil {
		return nil, err
	}
	card, err := decryptCreditCard(ans.env, ans.result)
	if err != nil {
		return nil, invalidResponse(ans.status, err.Error())
	}
	resp := &vendors.Response{Endpoint: endpointCreditCard, Fields: card.fields(req.PII)}
	if req.KeepRaw {
		resp.Raw = rawJSON(card.raw(req.PII))
	}
	return resp, nil
}

func (c *Client) idCard(ctx context.Context, req *vendors.Request, endpoint string) (*vendors.Response, error) {
	ans, err := c.post(ctx, serviceIDCard, endpoint, nil, imageBody(req.Image))
	if err != nil {
		return nil, err
	}
	id, err := decryptIDCard(ans.env, ans.result)
	if err != nil {
		return nil, invalidResponse(ans.status, err.Error())
	}
	resp := &vendors.Response{Endpoint: endpoint, Fields: id.fields(req.PII)}
	if req.KeepRaw {
		resp.Raw = rawJSON(id.raw(req.PII))
	}
	return resp, nil
}

// verifiedIDCard runs the id-card analysis and then the authenticity check
// with its Request-Key (single use, valid one hour). An expired key is a
// retryable error: the next attempt runs the whole chain again.
func (c *Client) verifiedIDCard(ctx context.Context, req *vendors.Request) (*vendors.Response, error) {
	ans, err := c.post(ctx, serviceIDCard, endpointIDCard, nil, imageBody(req.Image))
	if err != nil {
		return nil, err
	}
	id, err := decryptIDCard(ans.env, ans.result)
	if err != nil {
		return nil, invalidResponse(ans.status, err.Error())
	}
	requestKey := ans.header.Get("Request-Key")
	if requestKey == "" {
		return nil, invalidResponse(ans.status, "id-card answer without Request-Key")
	}
	check, err := id.authenticityRequest()
	if err != nil {
		return nil, err
	}
	extra := http.Header{"Request-Key": {requestKey}}
	auth, err := c.post(ctx, serviceIDCard, endpointAuthenticity, extra, check.body)
	if err != nil {
		return nil, err
	}
	var verdict struct {
		IsAuthenticity *bool `json:"isAuthenticity"`
	}
	if err := json.Unmarshal(auth.result, &verdict); err != nil || verdict.IsAuthenticity == nil {
		return nil, invalidResponse(auth.status, "authenticity answer without isAuthenticity")
	}
	fields := id.fields(req.PII)
	fields.Authenticity = &result.Authenticity{Checked: true, Authentic: *verdict.IsAuthenticity}
	resp := &vendors.Response{Endpoint: endpointIDCard, Fields: fields}
	if req.KeepRaw {
		resp.Raw = rawJSON(map[string]any{
			"id-card":              id.raw(req.PII),
			"id-card/authenticity": map[string]any{"isAuthenticity": *verdict.IsAuthenticity},
		})
	}
	return resp, nil
}

// answer is a successful NHN answer: its result object, and the envelope
// whose key decrypts the sensitive values in it.
type answer struct {
	env    *envelope
	status int
	header http.Header
	result json.RawMessage
}

// bodyFunc builds a request body encrypted with env. wait, called once the
// round trip is over, reports a failure on the image side (storage), which
// the transport would otherwise hide behind a generic write error.
type bodyFunc func(ctx context.Context, env *envelope) (body io.ReadCloser, contentType string, length int64, wait func() error, err error)

// post sends one encrypted request. On an envelope complaint (stale key
// version, undecryptable key or data) it refreshes the public key and sends
// once more with a new symmetric key, re-opening the image.
func (c *Client) post(ctx context.Context, service, endpoint string, extra http.Header, body bodyFunc) (*answer, error) {
	for attempt := 0; ; attempt++ {
		key, err := c.keys.get(ctx, service)
		if err != nil {
			return nil, err
		}
		env, err := newEnvelope()
		if err != nil {
			return nil, ocrerr.Transient(ocrerr.Internal, "random symmetric key").Wrap(err)
		}
		sealed, err := env.sealedKey(key.rsa)
		if err != nil {
			return nil, ocrerr.Transient(ocrerr.InvalidResponse, "vendor public key unusable").Wrap(err)
		}
		ans, h, err := c.send(ctx, endpoint, func(cctx context.Context) (*http.Request, func() error, error) {
			rc, ctype, n, wait, err := body(cctx, env)
			if err != nil {
				return nil, nil, err
			}
			r, err := http.NewRequestWithContext(cctx, http.MethodPost, c.base+endpoint, rc)
			if err != nil {
				rc.Close()
				return nil, nil, ocrerr.Permanent(ocrerr.Internal, "build request").Wrap(err)
			}
			if n > 0 {
				r.ContentLength = n
			}
			r.Header.Set("Content-Type", ctype)
			r.Header.Set("X-Key-Version", key.version)
			r.Header.Set("Symmetric-Key", sealed)
			for k, v := range extra {
				r.Header[k] = v
			}
			return r, wait, nil
		})
		if err != nil {
			if attempt == 0 && h != nil && envelopeTrouble(h.ResultCode) {
				c.keys.invalidate(service, key.version)
				continue
			}
			return nil, err
		}
		ans.env = env
		return ans, nil
	}
}

// fetchKey calls the public-keys API.
func (c *Client) fetchKey(ctx context.Context, service string) (*publicKey, error) {
	ans, _, err := c.send(ctx, "public-keys/"+service, func(cctx context.Context) (*http.Request, func() error, error) {
		r, err := http.NewRequestWithContext(cctx, http.MethodGet, c.base+"public-keys/"+service, nil)
		return r, nil, err
	})
	if err != nil {
		return nil, err
	}
	var k struct {
		Key     string          `json:"key"`
		Version json.RawMessage `json:"version"` // a string in the seed; tolerate a number
	}
	if err := json.Unmarshal(ans.result, &k); err != nil || k.Key == "" || len(k.Version) == 0 {
		return nil, invalidResponse(ans.status, "public key answer without key or version")
	}
	pub, err := parsePublicKey(k.Key)
	if err != nil {
		return nil, invalidResponse(ans.status, err.Error())
	}
	version := strings.Trim(string(k.Version), `"`)
	return &publicKey{rsa: pub, version: version}, nil
}

// maxAnswer bounds what we read of an answer; NHN answers are small JSON.
const maxAnswer = 4 << 20

// send makes one HTTP call and returns the answer's result, or the
// classified error together with the NHN header when there was one.
func (c *Client) send(ctx context.Context, endpoint string, build func(context.Context) (*http.Request, func() error, error)) (*answer, *header, error) {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r, wait, err := build(cctx)
	if err != nil {
		return nil, nil, err
	}
	r.Header.Set("Authorization", c.secret)
	resp, err := c.http.Do(r)
	var imageErr error
	if wait != nil {
		imageErr = wait()
	}
	if imageErr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, nil, imageErr
	}
	if err != nil {
		return nil, nil, vendors.TransportError(cctx, "vendor", err)
	}
	defer resp.Body.Close()
	if vendors.IsRedirect(resp.StatusCode) {
		return nil, nil, vendors.RedirectError(resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, vendors.TransportError(cctx, "vendor", err)
	}
	retryAfter := vendors.RetryAfter(resp.Header)
	var body struct {
		Header *header         `json:"header"`
		Result json.RawMessage `json:"result"`
	}
	if jerr := json.Unmarshal(raw, &body); jerr != nil || body.Header == nil {
		if resp.StatusCode != http.StatusOK {
			return nil, nil, httpError(resp.StatusCode, retryAfter)
		}
		return nil, nil, invalidResponse(resp.StatusCode, endpoint+" answer is not NHN JSON")
	}
	if !body.Header.ok() {
		return nil, body.Header, resultError(*body.Header, resp.StatusCode, retryAfter)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, httpError(resp.StatusCode, retryAfter)
	}
	if len(body.Result) == 0 || bytes.Equal(body.Result, []byte("null")) {
		return nil, nil, invalidResponse(resp.StatusCode, endpoint+" answer without result")
	}
	return &answer{status: resp.StatusCode, header: resp.Header, result: body.Result}, nil, nil
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("nhn: marshal raw: %v", err)) // only plain maps and strings: cannot fail
	}
	return b
}
