package localredis

import (
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestStartStop: the server answers on loopback, and after Stop it is gone
// with its directory.
func TestStartStop(t *testing.T) {
	s, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Stop() // twice is fine
	if err := rdb.Ping(t.Context()).Err(); err == nil {
		t.Error("redis still answers after Stop")
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("directory %s left behind: %v", s.dir, err)
	}
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("REDIS_SERVER_BIN", "/nonexistent/redis-server")
	if _, err := Start(t.Context()); err == nil {
		t.Error("Start with a missing binary succeeded")
	}
}
