package notify

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSignMatchesStripesScheme(t *testing.T) {
	at := time.Unix(1764633600, 0)
	body := []byte(`{"id":"d1","event":"batch.completed"}`)
	got := Sign("whsec_test", at, body)
	// Computed independently: printf '%s' '1764633600.{"id":"d1","event":"batch.completed"}' | openssl dgst -sha256 -hmac whsec_test
	const want = "t=1764633600,v1=35050cf1778cf641be23e83c96943432b5823c995a95423af73e62b7f227200d"
	if got != want {
		t.Fatalf("Sign = %q\nwant   %q", got, want)
	}
	if err := Verify("whsec_test", got, body, 0, at.Add(time.Minute)); err != nil {
		t.Fatalf("Verify of our own signature: %v", err)
	}
}

func TestVerifyRejectsWhatWasNotSignedNowWithTheSecret(t *testing.T) {
	at := time.Unix(1764633600, 0)
	body := []byte(`{"id":"d1"}`)
	sig := Sign("s3cret", at, body)
	cases := map[string]error{
		"tampered body":   Verify("s3cret", sig, []byte(`{"id":"d2"}`), 0, at),
		"wrong secret":    Verify("other", sig, body, 0, at),
		"replayed later":  Verify("s3cret", sig, body, 0, at.Add(DefaultTolerance+time.Second)),
		"from the future": Verify("s3cret", sig, body, 0, at.Add(-DefaultTolerance-time.Second)),
		"no v1":           Verify("s3cret", "t=1764633600", body, 0, at),
		"garbage":         Verify("s3cret", "sha256=abc", body, 0, at),
	}
	for name, err := range cases {
		if !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
	// During a secret rotation a header may carry two v1 values.
	rotated := sig + ",v1=" + strings.Repeat("0", 64)
	if err := Verify("s3cret", rotated, body, 0, at); err != nil {
		t.Errorf("two v1 entries: %v", err)
	}
}

// A receiver checks each request like this (docs/webhooks.md).
func ExampleVerify() {
	secret := "whsec_example"
	body := []byte(`{"id":"7f1c","event":"batch.completed","data":{"batch":"b1"}}`)
	sentAt := time.Unix(1764633600, 0)
	header := Sign(secret, sentAt, body) // what the worker sends as X-OCR-Signature

	err := Verify(secret, header, body, 5*time.Minute, sentAt.Add(2*time.Second))
	fmt.Println(err)
	err = Verify(secret, header, append(body, ' '), 5*time.Minute, sentAt)
	fmt.Println(errors.Is(err, ErrSignature))
	// Output:
	// <nil>
	// true
}
