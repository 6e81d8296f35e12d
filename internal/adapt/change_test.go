package adapt

import (
	"testing"
	"time"
)

// The vendor's limit halves and later doubles mid-run (PUT behavior on the
// emulator, as make bench does): the bench's fleet (3 workers x 8 slots,
// latency 100-300 ms) must be back within 10% of the new capacity in at
// most 15 s after each change, without a throttling storm. A storm is what
// issue 12 measured with no learning (96-97% of calls throttled); here at
// most stormAfter of the calls in the settle seconds after a change may be
// throttled (a change costs the calls in flight when it happens and a few
// decreases). The steady throttling between changes is what the grid's
// rows measure (20/s at 200 ms is on knownShort); it is only logged here.
func TestLimitHalvesThenDoubles(t *testing.T) {
	const (
		workers    = 3
		settle     = 15 // seconds allowed to get back within 10% of the new capacity
		phase      = 60 // seconds at each limit
		window     = 5  // seconds of each measurement of the rate after a change
		stormAfter = 0.20
	)
	cases := []struct {
		name string
		full gridRow
		set  func(v *simVendor, full bool)
	}{
		{"20/s, then 10/s, then 20/s", gridRow{rate: 20, latency: 200 * time.Millisecond, workers: workers}, func(v *simVendor, full bool) {
			if full {
				v.setRate(20, vendorBurst(20))
			} else {
				v.setRate(10, vendorBurst(10))
			}
		}},
		{"6 in flight, then 3, then 6", gridRow{conc: 6, latency: 200 * time.Millisecond, workers: workers}, func(v *simVendor, full bool) {
			if full {
				v.conc = 6
			} else {
				v.conc = 3
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSim(workers, slotsPerWorker, c.full.vendor(), Config{}, 1)
			full := c.full.capacity()
			s.runUntil(phase * time.Second)
			c.set(&s.vendor, false) // halves
			s.runUntil(2 * phase * time.Second)
			c.set(&s.vendor, true) // doubles back
			s.runUntil(3 * phase * time.Second)

			thr := float64(s.throttles) / float64(s.calls)
			t.Logf("%d calls, %.2f%% throttled; learned: %v", s.calls, 100*thr, s.learned)
			for i, ch := range []struct {
				at  int
				cap float64
			}{{phase, full / 2}, {2 * phase, full}} {
				// The rate must be back within 10% by settle seconds after the
				// change and stay there: every window from then to the next
				// change.
				for from := ch.at + settle; from+window <= ch.at+phase; from += window {
					if r := s.rate(from, from+window); r < 0.9*ch.cap || r > 1.1*ch.cap {
						t.Errorf("change %d: %.1f calls/s over [%d s, %d s), want within 10%% of %.1f", i+1, r, from, from+window, ch.cap)
					}
				}
				n, th := 0, 0
				for sec := ch.at; sec < ch.at+settle; sec++ {
					n += s.okPerSec[sec] + s.thrPerSec[sec]
					th += s.thrPerSec[sec]
				}
				if float64(th) > stormAfter*float64(n) {
					t.Errorf("change %d: %d of %d calls throttled in the %d s after it, want <= %.0f%%", i+1, th, n, settle, 100*stormAfter)
				}
				t.Logf("change %d: %d of %d calls throttled in the %d s after it; per second after: %v", i+1, th, n, settle, s.okPerSec[ch.at:ch.at+settle+5])
			}
		})
	}
}
