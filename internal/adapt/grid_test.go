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

// knownShort lists the rows that miss a target today, with the figures
// measured when the list was written (go test -run TestSimulationGrid -v).
// Why they miss is in docs/throttling.md ("Simulation"): in short
//   - 20-500 calls/s at 20 and 200 ms: ratio ~1.0 but 1.3-3.4% throttled.
//     The vendor's bucket (a quarter second of its rate) lets a probe step
//     run above the limit unseen; the decrease after it starts from a
//     one-second accepted rate that the bucket inflated, so a second and
//     third decrease follow;
//   - 1 and 5 calls/s at 2 s latency: a rate throttle at a new peak of calls
//     in flight is blamed on calls in flight; the probe that should clear it
//     is throttled too, because calls that waited for an in-flight slot
//     holding a rate token go out back to back (token first, then slot, as
//     the gate is wired), which "confirms" the wrong limit;
//   - 20 and 100 calls/s at 2 s with 10-50 workers, 64 in flight at 2 s:
//     the same bunching behind the in-flight cap.
//
// A row that leaves this list is logged; a row not on it that misses fails.
var knownShort = map[string]string{
	"20/s lat=20ms workers=1":        "ratio 0.995, 2.36% throttled",
	"20/s lat=20ms workers=3":        "ratio 0.985, 2.70% throttled",
	"20/s lat=20ms workers=10":       "ratio 0.986, 2.92% throttled",
	"100/s lat=20ms workers=10":      "ratio 1.000, 1.69% throttled",
	"20/s lat=20ms workers=50":       "ratio 0.994, 3.42% throttled",
	"100/s lat=20ms workers=50":      "ratio 1.000, 1.53% throttled",
	"500/s lat=20ms workers=50":      "ratio 1.000, 1.29% throttled",
	"20/s lat=200ms workers=1":       "ratio 0.996, 2.36% throttled",
	"20/s lat=200ms workers=3":       "ratio 0.988, 2.65% throttled",
	"100/s lat=200ms workers=3":      "ratio 1.000, 1.31% throttled",
	"20/s lat=200ms workers=10":      "ratio 0.996, 2.79% throttled",
	"100/s lat=200ms workers=10":     "ratio 1.000, 1.84% throttled",
	"20/s lat=200ms workers=50":      "ratio 0.986, 2.90% throttled",
	"100/s lat=200ms workers=50":     "ratio 1.000, 2.45% throttled",
	"500/s lat=200ms workers=50":     "ratio 0.999, 2.35% throttled",
	"1/s lat=2s workers=1":           "ratio 0.501, 0.68% throttled",
	"5/s lat=2s workers=1":           "ratio 0.126, 1.13% throttled",
	"1/s lat=2s workers=3":           "ratio 0.499, 0.68% throttled",
	"5/s lat=2s workers=3":           "ratio 0.100, 1.40% throttled",
	"1/s lat=2s workers=10":          "ratio 0.501, 0.68% throttled",
	"5/s lat=2s workers=10":          "ratio 0.410, 1.85% throttled",
	"20/s lat=2s workers=10":         "ratio 0.944, 1.84% throttled",
	"1/s lat=2s workers=50":          "ratio 0.500, 0.68% throttled",
	"5/s lat=2s workers=50":          "ratio 0.097, 0.98% throttled",
	"20/s lat=2s workers=50":         "ratio 0.670, 19.22% throttled",
	"100/s lat=2s workers=50":        "ratio 0.938, 10.09% throttled",
	"64 in flight lat=2s workers=50": "ratio 0.938, 0.65% throttled",
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
		miss := res.ratio < 0.95 || res.throttled > 0.01
		_, known := knownShort[r.String()]
		switch {
		case miss && known:
			mark = "  known short"
		case miss:
			mark = "  MISS " + fmt.Sprint(s.learned)
			misses = append(misses, r.String())
		case known:
			mark = "  now meets the targets: take it off knownShort"
		}
		t.Logf("%-36s %8.3f %8.2f%% %8d%s", r, res.ratio, 100*res.throttled, res.calls, mark)
	}
	t.Logf("%d of %d rows are known short", len(knownShort), len(gridRows()))
	if len(misses) > 0 {
		t.Errorf("%d rows miss the targets: %v", len(misses), misses)
	}
}
