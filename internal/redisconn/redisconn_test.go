package redisconn_test

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/redisconn"
)

func TestParseModes(t *testing.T) {
	for _, tc := range []struct {
		mode, url string
		want      any // the asynq option type
	}{
		{"", "redis://127.0.0.1:6379/0", asynq.RedisClientOpt{}},
		{"single", "rediss://h:6380/2", asynq.RedisClientOpt{}},
		{"single", "redis-sentinel://h1:26379,h2:26379?master=ocr", asynq.RedisFailoverClientOpt{}},
		{"cluster", "redis://h1:7000?addr=h2:7001&addr=h3:7002", asynq.RedisClusterClientOpt{}},
		{"cluster", "rediss://u:p@h1:7000?addr=h2:7001", asynq.RedisClusterClientOpt{}},
	} {
		opt, err := redisconn.Parse(tc.mode, tc.url)
		if err != nil {
			t.Errorf("%s %s: %v", tc.mode, tc.url, err)
			continue
		}
		switch want := tc.want.(type) {
		case asynq.RedisClientOpt:
			if _, ok := opt.(asynq.RedisClientOpt); !ok {
				t.Errorf("%s %s: %T, want %T", tc.mode, tc.url, opt, want)
			}
		case asynq.RedisFailoverClientOpt:
			if _, ok := opt.(asynq.RedisFailoverClientOpt); !ok {
				t.Errorf("%s %s: %T, want %T", tc.mode, tc.url, opt, want)
			}
		case asynq.RedisClusterClientOpt:
			if _, ok := opt.(asynq.RedisClusterClientOpt); !ok {
				t.Errorf("%s %s: %T, want %T", tc.mode, tc.url, opt, want)
			}
		}
	}
}

func TestParseClusterURLKeepsEveryNodeAndTLS(t *testing.T) {
	opt, err := redisconn.Parse("cluster", "rediss://user:pw@h1:7000?addr=h2:7001&addr=h3:7002&max_redirects=3")
	if err != nil {
		t.Fatal(err)
	}
	c := opt.(asynq.RedisClusterClientOpt)
	if strings.Join(c.Addrs, ",") != "h1:7000,h2:7001,h3:7002" {
		t.Errorf("addrs %v", c.Addrs)
	}
	if c.Username != "user" || c.Password != "pw" || c.TLSConfig == nil || c.MaxRedirects != 3 {
		t.Errorf("user %q password set %v TLS %v redirects %d", c.Username, c.Password != "", c.TLSConfig != nil, c.MaxRedirects)
	}
}

// Wrong pairings fail with a clear error that never holds the password.
func TestParseRefuses(t *testing.T) {
	const pw = "hunter2-S3cr3t"
	for _, tc := range []struct{ mode, url, want string }{
		{"single", "redis://:" + pw + "@h1:7000?addr=h2:7001", "redis.mode: cluster"},
		{"cluster", "redis-sentinel://:" + pw + "@h1:26379?master=m", "redis.mode: single"},
		{"cluster", "redis://:" + pw + "@h1:notaport?addr=h2:7001", "not a usable Redis URL"},
		{"cluster", "redis://:" + pw + "%zz@h1:7000", "not a usable Redis URL"},
		{"sentinel", "redis-sentinel://h1:26379?master=m", "unknown mode"},
		{"Cluster", "redis://h1:7000", "unknown mode"},
	} {
		_, err := redisconn.Parse(tc.mode, tc.url)
		if err == nil {
			t.Errorf("%s %s: parsed", tc.mode, tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: error %q, want it to say %q", tc.mode, tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error %q holds the password", tc.mode, err)
		}
	}
}
