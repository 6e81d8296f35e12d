package main

import (
	"context"
	"testing"
	"time"
	"fmt"
	"os"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

func TestExpList(t *testing.T) {
	ctx := context.Background()
	b := &bench{o: &options{}, dir: t.TempDir(), log: os.Stderr}
	s, err := b.newStack(ctx, "x", benchConfig(vendorConfig{rps: 100, burst: 100, concurrency: 8}, 8, 2<<20))
	if err != nil { t.Fatal(err) }
	defer s.Close()
	s.Store.CreateBucket(ctx, "bench")
	bk := s.Store.Bucket("bench")
	n := 100000
	if err := fill(ctx, bk, n, func(i int) string { return fmt.Sprintf("prod/src/%06d.png", i) }); err != nil { t.Fatal(err) }
	for range 2 {
		t0 := time.Now()
		c := 0
		bk.List(ctx, "prod/src/", "", func(storage.ObjectInfo) error { c++; return nil })
		t.Logf("list %d in %s", c, time.Since(t0))
	}
	for _, args := range [][]string{{"enqueue", "--dry-run", "--type", "receipt", "--out", "s3://bench/o1/", "s3://bench/prod/src/"},
		{"enqueue", "--type", "receipt", "--out", "s3://bench/o2/", "s3://bench/prod/src/"}} {
		t0 := time.Now()
		out, e, code, err := s.Run(ctx, "producer", args...)
		t.Logf("%v: %s %s %d %v in %s", args, out, e[:min(len(e), 300)], code, err, time.Since(t0))
	}
}
