package vendors

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// TimeoutDefault is the per-call timeout of a vendor account that sets
// none (config vendors.*.timeout).
const TimeoutDefault = 30 * time.Second

// Driver is everything the rest of the code asks about one vendor kind.
// Each vendor package declares one (clovaocr.Driver, ...) and the vendorset
// package lists them; config validates a vendor's options and routes by
// asking its driver, so adding a vendor touches its own package and that
// list only.
type Driver struct {
	Kind    string   // config "kind", e.g. "clova-ocr"
	Types   []string // document types it reads (result.Type*)
	Formats []string // image formats it accepts
	// Options returns a new, empty value of the kind's own config options:
	// a pointer to a struct whose yaml tags name the keys it reads beside
	// the common ones (kind, url, secret, rateLimit, ...).
	Options func() Options
	// New builds the client of one account.
	New func(Account) (Client, error)
	// MaskRaw applies this kind's masking to a stored raw copy (producer
	// remask), before the free-text scrub every raw copy gets.
	MaskRaw func(stored []byte) (json.RawMessage, error)
}

// Reads reports whether the kind reads a document type.
func (d *Driver) Reads(documentType string) bool { return slices.Contains(d.Types, documentType) }

// Options is a kind's own options, decoded from the vendor's config block.
type Options interface {
	// SetDefaults fills the options left unset (zero).
	SetDefaults()
	// Validate checks the options after SetDefaults; an error is an
	// *OptionError naming the key.
	Validate() error
}

// Credentials is implemented by Options holding credentials beyond the
// common secret. Only the worker requires them (the producer never calls
// a vendor).
type Credentials interface {
	// MissingCredential returns the key of the first empty credential, "" when all are set.
	MissingCredential() string
}

// OptionError is a bad option; config prefixes the key with vendors.NAME.
type OptionError struct {
	Key string // the option's yaml key, e.g. "mode"
	Msg string
}

func (e *OptionError) Error() string { return e.Key + ": " + e.Msg }

// Account is one configured vendor account, as a driver's New receives it.
type Account struct {
	Kind     string
	URL      string
	Secret   string
	Insecure bool          // allow plain http:// beyond loopback (CheckURL)
	Timeout  time.Duration // per call
	// Concurrency is the calls in flight per process; it sizes the account's
	// connection pool (HTTPClient).
	Concurrency int
	HTTPClient  *http.Client
	Options     Options // the kind's own options, defaulted and validated
}
