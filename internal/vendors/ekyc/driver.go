package ekyc

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Driver describes CLOVA eKYC to the rest of the code (vendors.Driver).
var Driver = vendors.Driver{
	Kind:    Kind,
	Types:   slices.Sorted(maps.Keys(endpoints)),
	Formats: formats,
	Options: func() vendors.Options { return &Config{} },
	New: func(a vendors.Account) (vendors.Client, error) {
		cfg, _ := a.Options.(*Config)
		if cfg == nil {
			cfg = &Config{}
		}
		return New(Options{URL: a.URL, Secret: a.Secret, Mode: cfg.Mode, Insecure: a.Insecure, HTTPClient: a.HTTPClient,
			Timeout: a.Timeout, MatchThreshold: cfg.MatchThreshold})
	},
	MaskRaw: MaskRaw,
}

// MatchThresholdDefault is the default of matchThreshold. The Face Compare
// page gives no threshold (its example's 0.40 is not labelled either way).
const MatchThresholdDefault = 0.8

// Config is what a clova-ekyc vendor block sets beyond the common keys.
type Config struct {
	Mode string `yaml:"mode"` // the body: multipart (default) or json (base64)
	// MatchThreshold: face-compare similarity at or above which "match" is
	// true. Default MatchThresholdDefault.
	MatchThreshold float64 `yaml:"matchThreshold"`
}

func (c *Config) SetDefaults() {
	if c.Mode == "" {
		c.Mode = ModeMultipart
	}
	if c.MatchThreshold == 0 {
		c.MatchThreshold = MatchThresholdDefault
	}
}

func (c *Config) Validate() error {
	if c.Mode != ModeMultipart && c.Mode != ModeJSON {
		return &vendors.OptionError{Key: "mode", Msg: fmt.Sprintf("%q: want multipart or json", c.Mode)}
	}
	if c.MatchThreshold < 0 || c.MatchThreshold > 1 {
		return &vendors.OptionError{Key: "matchThreshold", Msg: "must be between 0 and 1"}
	}
	return nil
}
