package main

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// go-redis logs each failed dial of its pool to stderr on its own
// ("redis: connection pool: failed to dial after 5 attempts ..."), several
// lines before the command's one error says the same; a CLI says it once.
func init() { redis.SetLogger(quietRedis{}) }

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
