package config

import (
	"strings"
	"testing"
)

func TestRedisMode(t *testing.T) {
	c, err := Parse([]byte("redis: {url: redis://x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Mode != "single" {
		t.Errorf("default redis.mode %q, want single", c.Redis.Mode)
	}
	c, err = Parse([]byte("redis: {mode: cluster, url: 'redis://h1:7000?addr=h2:7001'}\n"))
	if err != nil || c.Redis.Mode != "cluster" {
		t.Fatalf("cluster: %v, %v", c, err)
	}
	_, err = Parse([]byte("redis: {mode: sentinel, url: 'redis-sentinel://h:26379?master=m'}\n"))
	if err == nil || !strings.Contains(err.Error(), "redis.mode:") {
		t.Errorf("mode sentinel: error %v, want one naming redis.mode", err)
	}
}
