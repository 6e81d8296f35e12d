package adapt

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// gridRow is one simulated vendor and fleet.
type gridRow struct {
	rate    float64       // vendor's rate limit, calls/s (0: none)
	conc    int           // vendor's in-flight limit (0: none)
	latency time.Duration // mean; each call takes 0.5x..1.5x of it
	workers int
}

func (r gridRow) String() string {
	lim := fmt.Sprintf("%g/s", r.rate)
	if r.conc > 0 {
		lim = fmt.Sprintf("%d in flight", r.conc)
	}
	return fmt.Sprintf("%s lat=%v workers=%d", lim, r.latency, r.workers)
}

const slotsPerWorker = 8 // the bench's worker concurrency

// capacity is the smaller of the vendor's and the fleet's (slots / latency).
func (r gridRow) capacity() float64 {
	lat := r.latency.Seconds()
	fleet := float64(r.workers*slotsPerWorker) / lat
	vendor := r.rate
	if r.conc > 0 {
		vendor = float64(r.conc) / lat
	}
	return math.Min(vendor, fleet)
}

// vendorBurst is the vendor's bucket: a quarter second of its rate, as the
// bench's emulator (20/s, burst 5), at least 1.
func vendorBurst(rate float64) int { return max(1, int(math.Round(rate/4))) }

func (r gridRow) vendor() simVendor {
	v := simVendor{conc: r.conc, latMin: r.latency / 2, latMax: r.latency * 3 / 2}
	if r.rate > 0 {
		v.setRate(r.rate, vendorBurst(r.rate))
	}
	return v
}

type gridResult struct {
	ratio, throttled float64
	calls            int
}

// runSteady runs a row to its measurement's end: a warm-up of
// max(20 s, 50 calls at capacity), then max(60 s, 2,000 calls) measured.
func runSteady(r gridRow, seed uint64) (gridResult, *sim) {
	c := r.capacity()
	warm := int(math.Ceil(math.Max(20, 50/c)))
	meas := int(math.Ceil(math.Max(60, 2000/c)))
	s := newSim(r.workers, slotsPerWorker, r.vendor(), Config{}, seed)
	s.runUntil(time.Duration(warm+meas) * time.Second)
	return gridResult{ratio: s.rate(warm, warm+meas) / c, throttled: float64(s.throttles) / float64(s.calls), calls: s.calls}, s
}

func gridRows() []gridRow {
	var rows []gridRow
	for _, lat := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second} {
		for _, w := range []int{1, 3, 10, 50} {
			for _, rate := range []float64{1, 5, 20, 100, 500} {
				rows = append(rows, gridRow{rate: rate, latency: lat, workers: w})
			}
			for _, conc := range []int{1, 6, 16, 64} {
				rows = append(rows, gridRow{conc: conc, latency: lat, workers: w})
			}
		}
	}
	return rows
}

// TestSimulationGrid drives the controller against simulated vendors far
// beyond what this machine can run for real: 1-500 calls/s, 1-64 in flight,
// latency 20 ms-2 s, 1-50 workers of 8 slots. After the warm-up the fleet
// must reach 0.95 of the smaller of the vendor's and its own capacity, and
// at most 1% of all calls (warm-up included) may be throttled.
func TestSimulationGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation grid")
	}
	var misses []string
	t.Logf("%-36s %8s %9s %8s", "row", "ratio", "throttled", "calls")
	for _, r := range gridRows() {
		res, s := runSteady(r, 1)
		mark := ""
		if res.ratio < 0.95 || res.throttled > 0.01 {
			mark = "  MISS " + fmt.Sprint(s.learned)
			misses = append(misses, r.String())
		}
		t.Logf("%-36s %8.3f %8.2f%% %8d%s", r, res.ratio, 100*res.throttled, res.calls, mark)
	}
	if len(misses) > 0 {
		t.Errorf("%d rows miss the targets: %v", len(misses), misses)
	}
}
