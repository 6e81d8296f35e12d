package config

import (
	"strings"
	"testing"
)

const notifyBase = "redis: {url: redis://127.0.0.1:6379}\n"

// notify: is checked by the notify package's rules and reported under its
// keys; the secret comes from the environment like every secret.
func TestNotifyConfig(t *testing.T) {
	t.Setenv("OCR_WEBHOOK_SECRET", "whsec-test")
	c, err := Parse([]byte(notifyBase + `
notify:
  - url: https://hooks.example.com/ocr
    secret: ${OCR_WEBHOOK_SECRET}
    events: [batch.completed, document.failed, vendor.halted]
  - url: http://127.0.0.1:8080/hook
    name: local
    secret: s
    events: [vendor.halted]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notify) != 2 || c.Notify[0].Secret != "whsec-test" || c.Notify[1].ID() != "local" || !c.Notify[0].Wants("document.failed") {
		t.Errorf("notify %+v", c.Notify)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"  - {url: http://hooks.example.com/ocr, secret: s, events: [batch.completed]}", "notify[0].url: http:// is allowed only to a loopback host"},
		{"  - {url: https://h/x, secret: '${OCR_UNSET_SECRET}', events: [batch.completed]}", "notify[0].secret: empty"},
		{"  - {url: https://h/x, secret: s, events: [batch.done]}", `notify[0].events: unknown event "batch.done"`},
		{"  - {url: https://h/x, secret: s, events: [batch.completed], retries: 3}", "notify[0].retries: unknown key"},
		{"  - {url: https://h/x, secret: s, events: [batch.completed]}\n  - {url: https://h/x, secret: t, events: [vendor.halted]}", "notify[1].name: same receiver as notify[0]"},
	} {
		_, err := Parse([]byte(notifyBase + "notify:\n" + tc.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), "config: "+tc.want) {
			t.Errorf("%s:\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "whsec") {
			t.Errorf("error repeats a secret: %v", err)
		}
	}
	// http to any host with insecure: true.
	if _, err := Parse([]byte(notifyBase + "notify:\n  - {url: http://hooks.internal/ocr, insecure: true, secret: s, events: [batch.completed]}\n")); err != nil {
		t.Errorf("insecure: %v", err)
	}
}
