// Package clovaocr is the client of the NAVER Cloud CLOVA OCR Document API
// (V2): POST {invokeURL}/document/{type} with the X-OCR-SECRET header, one
// image per call sent as JSON (base64) or multipart, answers normalized into
// the result-v1 fields of each of the seven document types.
package clovaocr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Kind is the config "kind" of this vendor.
const Kind = "clova-ocr"

// Body modes (config "mode").
const (
	ModeMultipart = "multipart"
	ModeJSON      = "json"
)

// Types are the document types the Document API reads, each at
// /document/{type}.
var Types = []string{result.TypeReceipt, result.TypeCreditCard, result.TypeNameCard,
	result.TypeBizLicense, result.TypeIDCard, result.TypeMedicalReceipt, result.TypePassport}

// formats the API accepts (single-page pdf/tiff).
var formats = []string{"jpg", "jpeg", "png", "pdf", "tiff"}

// maxResponseBytes bounds how much of an answer we read. Answers are a few
// hundred KB at most (boxes for every field); anything larger is broken.
const maxResponseBytes = 32 << 20

// Options configures a Client.
type Options struct {
	URL        string        // the domain's invoke URL; /document/{type} is appended
	Secret     string        // X-OCR-SECRET
	Mode       string        // "multipart" (default) or "json"
	Insecure   bool          // allow plain http:// beyond loopback (vendors.CheckURL)
	HTTPClient *http.Client  // default: a client without its own timeout; redirects are never followed
	Timeout    time.Duration // per call, 0: none beyond the caller's context
	// Now is the clock for passport expiry (default time.Now).
	Now func() time.Time
}

// Client is one CLOVA OCR domain. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	secret string
	mode   string
	hc     *http.Client
	tmo    time.Duration
	now    func() time.Time
}

var _ vendors.Client = (*Client)(nil)

// New validates o and returns a client.
func New(o Options) (*Client, error) {
	u, err := vendors.CheckURL(strings.TrimRight(o.URL, "/"), o.Insecure)
	if err != nil {
		return nil, fmt.Errorf("clovaocr: %w", err)
	}
	if o.Secret == "" {
		return nil, errors.New("clovaocr: secret is required")
	}
	switch o.Mode {
	case "":
		o.Mode = ModeMultipart
	case ModeMultipart, ModeJSON:
	default:
		return nil, fmt.Errorf("clovaocr: mode %q: must be multipart or json", o.Mode)
	}
	o.HTTPClient = vendors.NoRedirects(o.HTTPClient)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{base: u, secret: o.Secret, mode: o.Mode, hc: o.HTTPClient, tmo: o.Timeout, now: o.Now}, nil
}

func (c *Client) Kind() string                      { return Kind }
func (c *Client) Supports(documentType string) bool { return slices.Contains(Types, documentType) }
func (c *Client) Formats() []string                 { return slices.Clone(formats) }

// Recognize sends one image and normalizes the answer. It makes exactly one
// HTTP call; every error is an *ocrerr.Error.
func (c *Client) Recognize(ctx context.Context, req *vendors.Request) (*vendors.Response, error) {
	if !c.Supports(req.DocumentType) {
		return nil, ocrerr.Permanent(ocrerr.UnknownDocumentType, "CLOVA OCR does not read document type %q", req.DocumentType)
	}
	format := strings.ToLower(req.Image.Format)
	if format == "tif" {
		format = "tiff"
	}
	if !slices.Contains(formats, format) {
		return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "CLOVA OCR does not take %q images", req.Image.Format)
	}
	if c.tmo > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.tmo)
		defer cancel()
	}
	endpoint := "document/" + req.DocumentType
	msg := message{Version: "V2", RequestID: uuid.NewString(), Timestamp: c.now().UnixMilli(),
		Images: []messageImage{{Format: format, Name: imageName(req.Image.Name)}}}

	img, err := req.Image.Open(ctx)
	if err != nil {
		if e, ok := ocrerr.As(err); ok {
			return nil, e
		}
		return nil, ocrerr.Transient(ocrerr.StorageUnavailable, "open image").Wrap(err)
	}
	size := req.Image.Size
	if size <= 0 {
		size = -1
	}
	body := newBody(c.mode, msg, img, size)
	defer body.Close()

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath(endpoint).String(), body)
	if err != nil {
		return nil, &ocrerr.Error{Code: ocrerr.Internal, Message: "build request", Err: err}
	}
	if body.length >= 0 {
		hreq.ContentLength = body.length
	}
	hreq.Header.Set("Content-Type", body.ContentType())
	hreq.Header.Set("X-OCR-SECRET", c.secret)
	hreq.Header.Set("Accept", "application/json")

	hresp, err := c.hc.Do(hreq)
	if err != nil {
		if rerr := body.ReadErr(); rerr != nil {
			if e, ok := ocrerr.As(rerr); ok {
				return nil, e // classified by the reader (e.g. too_large)
			}
			return nil, ocrerr.Transient(ocrerr.StorageUnavailable, "read image while sending").Wrap(rerr)
		}
		return nil, vendors.TransportError(ctx, "CLOVA OCR", err)
	}
	defer hresp.Body.Close()
	if vendors.IsRedirect(hresp.StatusCode) {
		return nil, vendors.RedirectError(hresp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, vendors.TransportError(ctx, "CLOVA OCR", err).WithVendor("", hresp.StatusCode)
	}
	if hresp.StatusCode != http.StatusOK {
		return nil, answerError(hresp, data)
	}
	if len(data) > maxResponseBytes {
		return nil, ocrerr.Transient(ocrerr.InvalidResponse, "CLOVA OCR answer over %d bytes", maxResponseBytes).WithVendor("", hresp.StatusCode)
	}
	fields, uid, err := Parse(req.DocumentType, data, ParseOptions{PII: req.PII, Now: c.now()})
	if err != nil {
		return nil, err
	}
	resp := &vendors.Response{Endpoint: endpoint, RequestID: msg.RequestID, UID: uid, Fields: fields}
	if req.KeepRaw {
		if resp.Raw, err = RawForStorage(data, req.PII); err != nil {
			return nil, ocrerr.Transient(ocrerr.InvalidResponse, "CLOVA OCR answer is not JSON").Wrap(err)
		}
	}
	return resp, nil
}

// imageName is the "name" the vendor echoes back. The task gives a neutral
// one; an empty name is refused by the API, so fall back to a constant.
func imageName(n string) string {
	if n == "" {
		return "image"
	}
	return n
}
