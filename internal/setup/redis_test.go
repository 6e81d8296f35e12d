package setup

import (
	"strings"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/config"
)

// A Redis URL that fails to parse must not put its password in the error
// (which the binaries log): the error names the key and the problem only.
func TestRedisURLErrorHoldsNoPassword(t *testing.T) {
	const pw = "hunter2-S3cr3t"
	for _, raw := range []string{
		"redis://:" + pw + "@redis:notaport/0",
		"redis://user:" + pw + "@redis:6379/notadb",
		"redis://:" + pw + "@red is:6379/0",
		"rediz://:" + pw + "@redis:6379/0",
		"redis://:" + pw + "%zz@redis:6379/0",
	} {
		_, _, err := Redis(&config.Config{Redis: config.Redis{URL: raw}})
		if err == nil {
			t.Errorf("%s: parsed", raw)
			continue
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error %q holds the password", raw, err)
		}
		if !strings.Contains(err.Error(), "redis.url") {
			t.Errorf("%s: error %q does not name redis.url", raw, err)
		}
	}
}
