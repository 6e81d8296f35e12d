package nhn

import (
	"time"

	"github.com/ocrbatch/ocrworker/internal/config/confval"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Driver describes NHN Cloud OCR to the rest of the code (vendors.Driver).
var Driver = vendors.Driver{
	Kind:    Kind,
	Types:   []string{result.TypeCreditCard, result.TypeIDCard},
	Formats: []string{"jpg", "png"}, // the seed's fileType is ".jpg, .png"
	Options: func() vendors.Options { return &Config{} },
	New: func(a vendors.Account) (vendors.Client, error) {
		cfg, _ := a.Options.(*Config)
		if cfg == nil {
			cfg = &Config{}
		}
		return New(Options{URL: a.URL, AppKey: cfg.AppKey, Secret: a.Secret, Insecure: a.Insecure, HTTPClient: a.HTTPClient,
			Timeout: a.Timeout, KeyRefresh: cfg.KeyRefresh.D(), Verify: cfg.Verify})
	},
	MaskRaw: MaskRaw,
}

// KeyRefreshDefault is the default of keyRefresh.
const KeyRefreshDefault = time.Hour

// Config is what an nhn-ocr vendor block sets beyond the common keys.
type Config struct {
	AppKey string `yaml:"appKey"` // required by the worker
	// Verify: run the authenticity check on every id-card (else only for
	// tasks that ask: producer --verify, a manifest's "verify").
	Verify     bool             `yaml:"verify"`
	KeyRefresh confval.Duration `yaml:"keyRefresh"` // public-key refetch interval; default KeyRefreshDefault
}

func (c *Config) SetDefaults() {
	if c.KeyRefresh == 0 {
		c.KeyRefresh = confval.Duration(KeyRefreshDefault)
	}
}

func (c *Config) Validate() error { return nil }

// MissingCredential implements vendors.Credentials.
func (c *Config) MissingCredential() string {
	if c.AppKey == "" {
		return "appKey"
	}
	return ""
}
