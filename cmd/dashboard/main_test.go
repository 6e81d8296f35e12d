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

// The configurations shipped in deploy/ must load, and flags and
// DASHBOARD_* must override them: the example with https vendor URLs, the
// compose one with docker-compose.yml's http://emulator:8090 URLs (which
// the example refuses: plain http is for loopback unless insecure: true).
func TestOptionsFromExampleConfig(t *testing.T) {
	for _, tc := range []struct {
		file, vendorBase string
		ok               bool
	}{
		{"config.example.yaml", "https://e", true},
		{"config.compose.yaml", "http://emulator:8090", true},
		{"config.example.yaml", "http://emulator:8090", false},
	} {
		for k, v := range map[string]string{
			"REDIS_URL": "redis://127.0.0.1:6399/0", "S3_ENDPOINT": "http://127.0.0.1:9000",
			"CLOVA_OCR_URL": tc.vendorBase + "/clova-ocr", "CLOVA_OCR_SECRET": "s", "CLOVA_EKYC_URL": tc.vendorBase + "/ekyc",
			"CLOVA_EKYC_SECRET": "s", "NHN_OCR_URL": tc.vendorBase + "/nhn", "NHN_OCR_APPKEY": "k", "NHN_OCR_SECRET": "s",
			"DASHBOARD_USERNAME": "ops", "DASHBOARD_PASSWORD": "pw",
		} {
			t.Setenv(k, v)
		}
		o, closeFn, err := options(context.Background(), flags{readOnly: true, addr: "127.0.0.1:9999",
			Globals: globals("../../deploy/" + tc.file)})
		if !tc.ok {
			if err == nil || !strings.Contains(err.Error(), "insecure") {
				t.Errorf("%s with %s: err = %v; want the plain-http refusal", tc.file, tc.vendorBase, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if o.Addr != "127.0.0.1:9999" || !o.ReadOnly || o.Username != "ops" || o.Password != "pw" || o.RedisOpt == nil || o.Ready == nil {
			t.Errorf("%s: options = %+v", tc.file, o)
		}
		closeFn()
	}
}

func globals(config string) (g cli.Globals) {
	g.Config = config
	return g
}

// A --redis-url that does not parse is refused without its password in
// the log.
func TestBadRedisURLLogsNoPassword(t *testing.T) {
	t.Setenv("OCR_CONFIG", "")
	var stdout, stderr bytes.Buffer
	code := run([]string{"--redis-url", "redis://:pa55-w0rd-x@redis:notaport/0"}, &stdout, &stderr)
	if code == 0 {
		t.Fatal("started with an unparsable Redis URL")
	}
	if strings.Contains(stderr.String(), "pa55-w0rd-x") {
		t.Errorf("the password is in the log: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "invalid port") {
		t.Errorf("the log does not say what is wrong: %s", stderr.String())
	}
}
