// Package ekyc is the CLOVA eKYC client: the Document API (biz-license,
// id-card) and the Face Compare API. It sends one call per Recognize, with a
// fresh requestId every time (the vendor refuses a requestId it saw in the
// last 10 minutes, so a retry must never reuse one), streams images as
// base64 JSON or multipart, and normalizes answers into internal/result
// structs, masked unless Request.PII. Face feature vectors and aligned face
// images are dropped from everything it returns.
package ekyc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Kind is the config "kind" of this vendor.
const Kind = "clova-ekyc"

// Body modes.
const (
	ModeMultipart = "multipart"
	ModeJSON      = "json"
)

// Options configures a Client.
type Options struct {
	URL            string        // the domain's invoke URL; "/biz-license/document" etc. are appended
	Secret         string        // X-EKYC-SECRET
	Mode           string        // "multipart" (default) or "json"
	Insecure       bool          // allow plain http:// beyond loopback (vendors.CheckURL)
	HTTPClient     *http.Client  // default: a client without its own timeout; redirects are never followed
	Timeout        time.Duration // per call; default vendors.TimeoutDefault
	MatchThreshold float64       // similarity at or above which two faces match; default MatchThresholdDefault
}

// Client is one eKYC account. It is safe for concurrent use.
type Client struct {
	base      string
	secret    string
	mode      string
	http      *http.Client
	timeout   time.Duration
	threshold float64
	newID     func() string
}

var _ vendors.Client = (*Client)(nil)

// New validates o and returns a client.
func New(o Options) (*Client, error) {
	if _, err := vendors.CheckURL(o.URL, o.Insecure); err != nil {
		return nil, fmt.Errorf("ekyc: %w", err)
	}
	if o.Secret == "" {
		return nil, errors.New("ekyc: secret: required")
	}
	c := &Client{base: strings.TrimRight(o.URL, "/"), secret: o.Secret, mode: o.Mode, http: vendors.NoRedirects(o.HTTPClient),
		timeout: o.Timeout, threshold: o.MatchThreshold, newID: uuid.NewString}
	switch c.mode {
	case "":
		c.mode = ModeMultipart
	case ModeMultipart, ModeJSON:
	default:
		return nil, fmt.Errorf("ekyc: mode: must be %q or %q", ModeMultipart, ModeJSON)
	}
	if c.timeout == 0 {
		c.timeout = vendors.TimeoutDefault
	} else if c.timeout < 0 {
		return nil, errors.New("ekyc: timeout: must be > 0")
	}
	if c.threshold == 0 {
		c.threshold = MatchThresholdDefault
	} else if c.threshold < 0 || c.threshold > 1 {
		return nil, errors.New("ekyc: matchThreshold: must be within 0..1")
	}
	return c, nil
}

// Kind implements vendors.Client.
func (c *Client) Kind() string { return Kind }

// Supports implements vendors.Client.
func (c *Client) Supports(documentType string) bool {
	_, ok := endpoints[documentType]
	return ok
}

// Formats implements vendors.Client: the formats the eKYC pages list (PDF
// and TIFF single page only).
func (c *Client) Formats() []string { return slices.Clone(formats) }

// formats are the image formats the eKYC pages list.
var formats = []string{"jpg", "jpeg", "png", "pdf", "tiff"}

// endpoints maps a document type to its path under the invoke URL.
var endpoints = map[string]string{
	result.TypeBizLicense:  "biz-license/document",
	result.TypeIDCard:      "id-card/document",
	result.TypeFaceCompare: "face/compare",
}

func (c *Client) formatOK(f string) bool { return slices.Contains(formats, f) }

// Recognize implements vendors.Client.
func (c *Client) Recognize(ctx context.Context, req *vendors.Request) (*vendors.Response, error) {
	endpoint, ok := endpoints[req.DocumentType]
	if !ok {
		return nil, ocrerr.Permanent(ocrerr.UnknownDocumentType, "clova-ekyc does not read %q", req.DocumentType)
	}
	imgs := []vendors.Image{req.Image}
	if req.DocumentType == result.TypeFaceCompare {
		if req.Face == nil {
			return nil, ocrerr.Permanent(ocrerr.InvalidTask, "face-compare needs a face image")
		}
		imgs = append(imgs, *req.Face)
	}
	for _, im := range imgs {
		if !c.formatOK(im.Format) {
			return nil, ocrerr.Permanent(ocrerr.UnsupportedFormat, "clova-ekyc does not take %q images", im.Format)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	requestID := c.newID() // fresh on every call: the vendor refuses reuse for 10 minutes
	body, err := c.send(ctx, endpoint, requestID, imgs)
	if err != nil {
		return nil, err
	}
	var resp *vendors.Response
	if req.DocumentType == result.TypeFaceCompare {
		resp, err = c.compareResponse(body, req)
	} else {
		resp, err = documentResponse(body, req)
	}
	if err != nil {
		return nil, err
	}
	resp.Endpoint, resp.RequestID = endpoint, requestID
	return resp, nil
}
