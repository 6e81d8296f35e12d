package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/cli"
)

func TestUsageExitCodes(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	t.Setenv("OCR_CONFIG", "")
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, 0, "dashboard [--config FILE]"},
		{[]string{"--bogus"}, 2, "bogus"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{nil, 2, "no Redis"},
		{[]string{"--redis-url", "redis://127.0.0.1:1/0", "--log-format", "xml"}, 2, "log-format"},
	} {
		var stdout, stderr bytes.Buffer
		if got := run(tc.args, &stdout, &stderr); got != tc.code {
			t.Errorf("run %v = %d, want %d; stderr %s", tc.args, got, tc.code, stderr.String())
		}
		if !strings.Contains(stdout.String()+stderr.String(), tc.out) {
			t.Errorf("run %v output lacks %q: %s%s", tc.args, tc.out, stdout.String(), stderr.String())
		}
	}
}

// The example configuration shipped in deploy/ must load, and flags and
// DASHBOARD_* must override it.
func TestOptionsFromExampleConfig(t *testing.T) {
	for k, v := range map[string]string{
		"REDIS_URL": "redis://127.0.0.1:6399/0", "S3_ENDPOINT": "http://127.0.0.1:9000",
		"CLOVA_OCR_URL": "http://e/clova", "CLOVA_OCR_SECRET": "s", "CLOVA_EKYC_URL": "http://e/ekyc",
		"CLOVA_EKYC_SECRET": "s", "NHN_OCR_URL": "http://e/nhn", "NHN_OCR_APPKEY": "k", "NHN_OCR_SECRET": "s",
		"DASHBOARD_USERNAME": "ops", "DASHBOARD_PASSWORD": "pw",
	} {
		t.Setenv(k, v)
	}
	o, closeFn, err := options(context.Background(), flags{readOnly: true, addr: "127.0.0.1:9999",
		Globals: globals("../../deploy/config.example.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if o.Addr != "127.0.0.1:9999" || !o.ReadOnly || o.Username != "ops" || o.Password != "pw" || o.RedisOpt == nil || o.Ready == nil {
		t.Errorf("options = %+v", o)
	}
}

func globals(config string) (g cli.Globals) {
	g.Config = config
	return g
}
