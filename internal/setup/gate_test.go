package setup

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// A halt set by another process is seen within haltCacheFor without a
// Redis read per task; a halt this process sets is seen at once.
func TestGateHaltedIsCachedBriefly(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: testenv.StartRedis(t).Addr})
	defer rdb.Close()
	ctx := t.Context()
	g := &gate{lim: ratelimit.New(rdb, "v", 0, 1, 0), vendor: "v"}
	if _, halted := g.Halted(ctx); halted {
		t.Fatal("halted before any halt")
	}
	other := ratelimit.NewGate(rdb)
	if err := other.Halt(ctx, "v", ocrerr.QuotaExhausted, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, halted := g.Halted(ctx); halted {
		t.Error("the cached answer was not used")
	}
	time.Sleep(haltCacheFor + 50*time.Millisecond)
	if _, halted := g.Halted(ctx); !halted {
		t.Error("another process's halt not seen after the cache expired")
	}
	if _, err := other.Resume(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	if err := g.Halt(ctx, string(ocrerr.VendorAuth), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if until, halted := g.Halted(ctx); !halted || until.IsZero() {
		t.Error("this process's own halt not seen at once")
	}
}
