package ocrerr

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestRedactDropsObjectKeysKeepsTheCause(t *testing.T) {
	cause := fmt.Errorf(`s3 head s3://inbox/customers/hong/900101-1234567.png: Head "http://127.0.0.1:9000/inbox/customers/hong/900101-1234567.png": %w`, io.ErrUnexpectedEOF)
	err := Transient(StorageUnavailable, "source image: storage unavailable").Wrap(Redact(cause))
	msg := err.Error()
	for _, leak := range []string{"hong", "900101", "customers"} {
		if strings.Contains(msg, leak) {
			t.Errorf("message %q holds %q", msg, leak)
		}
	}
	if !strings.Contains(msg, "s3://inbox/…") || !strings.Contains(msg, "http://127.0.0.1:9000/…") {
		t.Errorf("message %q lost the bucket or host", msg)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("the cause is no longer reachable with errors.Is")
	}
}

// Keys hold spaces and other punctuation; the redaction must take the
// whole key, up to where the message goes on (": ", a quote, the end).
func TestRedactKeysWithSpaces(t *testing.T) {
	for _, msg := range []string{
		`s3 head s3://in/Kim 800101-1234567.jpg: Head "http://127.0.0.1:9000/in/Kim%20800101-1234567.jpg": EOF`,
		`s3 get s3://in/scans/Kim 800101-1234567 (copy).jpg: EOF`,
		`s3 list s3://in/Kim 800101 1234567/`,
		`source 's3://in/Kim 800101-1234567.jpg' is gone`,
		"s3 put s3://out/r/Kim\t800101-1234567.jpg.json: precondition failed",
	} {
		got := Redact(errors.New(msg)).Error()
		for _, leak := range []string{"Kim", "800101", "1234567"} {
			if strings.Contains(got, leak) {
				t.Errorf("Redact(%q) = %q holds %q", msg, got, leak)
			}
		}
		if !strings.Contains(got, "s3://") {
			t.Errorf("Redact(%q) = %q lost the bucket", msg, got)
		}
	}
}

// File paths are keys too: every directory may name a person.
func TestRedactFilePaths(t *testing.T) {
	for _, msg := range []string{
		`file get file:///data/customers/Kim 800101-1234567.jpg: EOF`,
		`source file:///data/in/Kim/800101-1234567.jpg: outside the file root /srv (storage.fileRoot)`,
		`"file:///home/kim/800101 1234567/scan.png": path has a ".." segment`,
	} {
		got := Redact(errors.New(msg)).Error()
		for _, leak := range []string{"Kim", "kim", "800101", "1234567", "customers"} {
			if strings.Contains(got, leak) {
				t.Errorf("Redact(%q) = %q holds %q", msg, got, leak)
			}
		}
		if !strings.Contains(got, "file:///…") {
			t.Errorf("Redact(%q) = %q: want the scheme kept as file:///…", msg, got)
		}
	}
}
