package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// TestQuotaAdmin: PUT /_emulator/clova-ocr/quota raises a used-up quota
// live, so fault tests can let halted workers resume.
func TestQuotaAdmin(t *testing.T) {
	const secret = "quota-secret"
	base, _, _ := start(t, "--clova-secret", secret, "--quota", "1")
	img := testimages.JPEG(3, 32, 24, nil)
	if status, body := clovaCall(t, base, secret, img); status != 200 {
		t.Fatalf("first call: %d %s", status, body)
	}
	if status, body := clovaCall(t, base, secret, img); status != 400 || !bytes.Contains(body, []byte(`"0023"`)) {
		t.Fatalf("over quota: %d %s", status, body)
	}
	put := func(body string) int {
		req, _ := http.NewRequest(http.MethodPut, base+"/_emulator/clova-ocr/quota", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, bad := range []string{`{}`, `{"quota": -1}`, `nope`} {
		if code := put(bad); code != http.StatusBadRequest {
			t.Errorf("PUT quota %s: %d, want 400", bad, code)
		}
	}
	if code := put(`{"quota": 2}`); code != http.StatusNoContent {
		t.Fatalf("PUT quota: %d", code)
	}
	for i := 0; i < 2; i++ {
		if status, body := clovaCall(t, base, secret, img); status != 200 {
			t.Errorf("call %d after raising the quota: %d %s", i, status, body)
		}
	}
	if status, _ := clovaCall(t, base, secret, img); status != 400 {
		t.Errorf("third call after raising the quota to 2: %d, want 400", status)
	}
	// The other admin routes still answer.
	resp, err := http.Get(base + "/_emulator/clova-ocr/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("stats: %d", resp.StatusCode)
	}
}
