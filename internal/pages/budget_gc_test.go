package pages

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// A large decode first collects the pixels of finished conversions, so the
// heap holds about the budget's live pixels, not twice that; small ones
// never pay for a collection.
func TestLargeWeightCollectsFinishedPixels(t *testing.T) {
	b := NewBudget(1 << 30)
	time.Sleep(110 * time.Millisecond) // past the previous collection's spacing
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	release, err := b.Acquire(context.Background(), collectAbove)
	if err != nil {
		t.Fatal(err)
	}
	release()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.NumForcedGC <= before.NumForcedGC {
		t.Errorf("forced collections %d -> %d: a %d-byte decode did not collect first", before.NumForcedGC, after.NumForcedGC, collectAbove)
	}
	time.Sleep(110 * time.Millisecond)
	runtime.ReadMemStats(&before)
	release, err = b.Acquire(context.Background(), collectAbove-1)
	if err != nil {
		t.Fatal(err)
	}
	release()
	runtime.ReadMemStats(&after)
	if after.NumForcedGC != before.NumForcedGC {
		t.Errorf("a small decode forced a collection")
	}
}
