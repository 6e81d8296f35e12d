package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Receiver is one entry of the config's notify: list.
//
//	notify:
//	  - url: https://hooks.example.com/ocr
//	    secret: ${OCR_WEBHOOK_SECRET}
//	    events: [batch.completed, document.failed, vendor.halted]
//	    name: accounting      # optional, see ID
//	    insecure: false       # true allows http:// to a host other than loopback
type Receiver struct {
	Name     string   `yaml:"name"`
	URL      string   `yaml:"url"`
	Secret   string   `yaml:"secret"`
	Events   []string `yaml:"events"`
	Insecure bool     `yaml:"insecure"`
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ID names the receiver in task payloads, Redis and `producer status`: its
// name, or a hash of its URL (a URL may hold a token, so it is never used
// itself). A queued delivery whose receiver is no longer configured is
// dropped.
func (r Receiver) ID() string {
	if r.Name != "" {
		return r.Name
	}
	sum := sha256.Sum256([]byte(r.URL))
	return "url-" + hex.EncodeToString(sum[:6])
}

// Target is what may be shown of the URL: scheme and host, without user
// info, path or query (which may hold tokens).
func (r Receiver) Target() string {
	u, err := url.Parse(r.URL)
	if err != nil {
		return "(invalid url)"
	}
	return u.Scheme + "://" + u.Host
}

// Wants reports whether the receiver subscribed to event.
func (r Receiver) Wants(event string) bool {
	for _, e := range r.Events {
		if e == event {
			return true
		}
	}
	return false
}

// FieldError is a configuration error naming its key (notify[0].url), so
// the config package can report it as its own.
type FieldError struct {
	Key string
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// Validate checks the notify: list. Messages never repeat a URL or secret.
func Validate(rs []Receiver) error {
	seen := map[string]int{}
	for i, r := range rs {
		key := func(k string) string { return fmt.Sprintf("notify[%d].%s", i, k) }
		if r.Name != "" && !validName.MatchString(r.Name) {
			return &FieldError{key("name"), "want 1-64 of [A-Za-z0-9._-], starting with a letter or digit"}
		}
		if err := checkURL(r.URL, r.Insecure); err != nil {
			return &FieldError{key("url"), err.Error()}
		}
		if r.Secret == "" {
			return &FieldError{key("secret"), "empty: every delivery is signed (for example secret: ${OCR_WEBHOOK_SECRET})"}
		}
		if len(r.Events) == 0 {
			return &FieldError{key("events"), "empty: list one or more of " + strings.Join(Events, ", ")}
		}
		for _, e := range r.Events {
			if !knownEvent(e) {
				return &FieldError{key("events"), fmt.Sprintf("unknown event %q (known: %s)", e, strings.Join(Events, ", "))}
			}
		}
		if j, dup := seen[r.ID()]; dup {
			return &FieldError{key("name"), fmt.Sprintf("same receiver as notify[%d]: give each a distinct name or url", j)}
		}
		seen[r.ID()] = i
	}
	return nil
}

// checkURL allows https anywhere, and http only to a loopback host or
// with insecure. TLS verification is never turned off.
func checkURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute http(s) URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if insecure || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("http:// is allowed only to a loopback host (or with insecure: true); use https://")
	default:
		return fmt.Errorf("scheme %q: want https (or http to loopback)", u.Scheme)
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
