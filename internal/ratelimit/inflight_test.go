package ratelimit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Several processes (own Redis pools) with more callers than slots never
// have more than the limit in flight together, and do use all of it.
func TestInFlightCapsTheFleet(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	const limit, workers, perWorker, calls = 4, 3, 6, 10
	var cur, peak atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		s := NewInFlight(newClient(t), "clova", time.Second, p)
		for g := 0; g < perWorker; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < calls; i++ {
					l, err := s.Acquire(ctx, limit)
					if err != nil {
						t.Error(err)
						return
					}
					if l.InFlight < 1 || l.InFlight > limit {
						t.Errorf("lease says %d in flight, limit %d", l.InFlight, limit)
					}
					n := cur.Add(1)
					for {
						old := peak.Load()
						if n <= old || peak.CompareAndSwap(old, n) {
							break
						}
					}
					time.Sleep(10 * time.Millisecond)
					cur.Add(-1)
					l.Release()
				}
			}()
		}
	}
	wg.Wait()
	if got := peak.Load(); got != limit {
		t.Fatalf("peak in flight %d, want exactly the limit %d", got, limit)
	}
	n, err := NewInFlight(newClient(t), "clova", time.Second, p).Count(ctx)
	if err != nil || n != 0 {
		t.Fatalf("after all released: %d in flight (err %v), want 0", n, err)
	}
}

// A worker killed mid-call never releases or renews: its slot is given to
// another worker once the lease TTL has passed, not before.
func TestInFlightSlotOfKilledWorkerComesBack(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	const ttl = 600 * time.Millisecond
	dead := NewInFlight(newClient(t), "clova", ttl, p)
	l, err := dead.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	close(l.stop) // the process dies: no renewal, no release
	killed := time.Now()

	other := NewInFlight(newClient(t), "clova", ttl, p)
	early, cancel := context.WithTimeout(ctx, ttl/2)
	defer cancel()
	if _, err := other.Acquire(early, 1); err == nil {
		t.Fatal("the dead worker's slot was given away before its lease expired")
	}
	got, err := other.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if waited := time.Since(killed); waited < ttl || waited > ttl+500*time.Millisecond {
		t.Fatalf("slot came back after %v, want about the lease TTL %v", waited, ttl)
	}
}

// A call longer than the lease TTL keeps its slot: the holder renews it.
func TestInFlightRenewsLongCalls(t *testing.T) {
	ctx := context.Background()
	p := prefix(t)
	const ttl = 300 * time.Millisecond
	a := NewInFlight(newClient(t), "clova", ttl, p)
	l, err := a.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := NewInFlight(newClient(t), "clova", ttl, p)
	wait, cancel := context.WithTimeout(ctx, 4*ttl)
	defer cancel()
	if _, err := b.Acquire(wait, 1); err == nil {
		t.Fatal("a renewed slot was given to another worker")
	}
	start := time.Now()
	go func() { time.Sleep(50 * time.Millisecond); l.Release(); l.Release() }()
	got, err := b.Acquire(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	got.Release()
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("a released slot took %v to reach a worker polling for it", d)
	}
}

// A lower limit applies to new calls at once; calls in flight finish.
func TestInFlightLimitMovesWhileCallsRun(t *testing.T) {
	ctx := context.Background()
	s := NewInFlight(newClient(t), "clova", time.Second, prefix(t))
	var held []*Lease
	for i := 0; i < 3; i++ {
		l, err := s.Acquire(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(short, 2); err == nil || !strings.Contains(err.Error(), "call slot") {
		t.Fatalf("3 in flight and limit 2: Acquire = %v, want a wait that ends with ctx", err)
	}
	held[0].Release()
	held[1].Release()
	l, err := s.Acquire(ctx, 2)
	if err != nil || l.InFlight != 2 {
		t.Fatalf("Acquire after two releases: in flight %v, err %v; want 2, nil", l, err)
	}
	l.Release()
	held[2].Release()
}

func TestInFlightKeyIsInTheVendorSlot(t *testing.T) {
	if k := inflightKey("ocr:", "clova"); k != "ocr:rl:{clova}:inflight" {
		t.Fatalf("key %q", k)
	}
}

// With CapByLearned, the fleet's learned in-flight limit in Redis caps
// Acquire at once, whatever limit the caller's copy says.
func TestInFlightCapByLearned(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	learned := "test:" + t.Name() + ":rl:{clova}:learned"
	if err := c.Set(ctx, learned, `{"rps":5,"inFlight":1}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	s := NewInFlight(c, "clova", time.Second, prefix(t)).CapByLearned(learned)
	l, err := s.Acquire(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(short, 5); err == nil {
		t.Fatal("a second slot was granted over the learned limit of 1")
	}
	c.Set(ctx, learned, `{"inFlight":2}`, time.Minute)
	l2, err := s.Acquire(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	l2.Release()
}
