package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verifyWebhook is the receiver-side check of docs/webhooks.md, standard
// library only (a receiver cannot import this internal package). Keep the
// two in step: this test proves the documented code accepts what Sign
// produces and rejects a tampered body.
func verifyWebhook(secret, header string, body []byte) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || math.Abs(time.Since(time.Unix(sec, 0)).Seconds()) > 300 {
		return errors.New("stale or missing timestamp")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("bad signature")
}

func TestDocumentedReceiverCheckAgreesWithSign(t *testing.T) {
	body := []byte(`{"id":"x","event":"vendor.halted","data":{"vendor":"clova","reason":"operator"}}`)
	h := Sign("whsec_doc", time.Now(), body)
	if err := verifyWebhook("whsec_doc", h, body); err != nil {
		t.Errorf("documented check rejects a real signature: %v", err)
	}
	if err := verifyWebhook("whsec_doc", h, []byte(`{"id":"y"}`)); err == nil {
		t.Error("documented check accepts a tampered body")
	}
	if err := verifyWebhook("whsec_doc", Sign("whsec_doc", time.Now().Add(-time.Hour), body), body); err == nil {
		t.Error("documented check accepts an hour-old signature")
	}
}
