package clovaocr

import (
	"fmt"

	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// Driver describes CLOVA OCR to the rest of the code (vendors.Driver).
var Driver = vendors.Driver{
	Kind:    Kind,
	Types:   Types,
	Formats: formats,
	Options: func() vendors.Options { return &Config{} },
	New: func(a vendors.Account) (vendors.Client, error) {
		cfg, _ := a.Options.(*Config)
		if cfg == nil {
			cfg = &Config{}
		}
		return New(Options{URL: a.URL, Secret: a.Secret, Mode: cfg.Mode, Insecure: a.Insecure, HTTPClient: a.HTTPClient, Timeout: a.Timeout})
	},
	MaskRaw: MaskRaw,
}

// Config is what a clova-ocr vendor block sets beyond the common keys.
type Config struct {
	Mode string `yaml:"mode"` // the body: multipart (default) or json (base64)
}

func (c *Config) SetDefaults() {
	if c.Mode == "" {
		c.Mode = ModeMultipart
	}
}

func (c *Config) Validate() error {
	if c.Mode != ModeMultipart && c.Mode != ModeJSON {
		return &vendors.OptionError{Key: "mode", Msg: fmt.Sprintf("%q: want multipart or json", c.Mode)}
	}
	return nil
}
