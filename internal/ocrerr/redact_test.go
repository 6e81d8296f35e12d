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
