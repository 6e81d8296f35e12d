package config

import (
	"errors"

	"github.com/ocrbatch/ocrworker/internal/notify"
)

// validateNotify checks the notify: list with the notify package's own
// rules (https, or http to loopback or with insecure; a secret; known
// events; distinct receivers), reported under the list's keys.
func (c *Config) validateNotify() error {
	err := notify.Validate(c.Notify)
	var fe *notify.FieldError
	if errors.As(err, &fe) {
		return &Error{Key: fe.Key, Msg: fe.Msg}
	}
	return err
}
