package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
	"github.com/ocrbatch/ocrworker/internal/stack"
	"github.com/ocrbatch/ocrworker/internal/testimages"
)

// adaptive (issue 12): three workers × concurrency 8 with no limit in the
// config, so the vendor is adaptive, against an emulator that enforces a
// limit nobody told the workers, latency 100–300 ms:
//
//   - 20 calls/s (burst 5), and 6 calls in flight: calls/s after a 20 s
//     warm-up ÷ the vendor's capacity, and throttled ÷ all calls over the
//     whole run (at least 2,000 calls after the warm-up);
//   - 20 calls/s that halves to 10 and later doubles back: seconds until a
//     3 s window is back within 10 % of the new capacity (with under 5 %
//     of its calls throttled), and the throttles of the 15 s after each
//     change;
//   - the exact-limit rows are the rate measurement (b.rate), run here
//     unless --only runs it anyway.
//
// The emulator's counters are polled every 250 ms; every figure comes from
// them, i.e. from what the vendor saw.
func (b *bench) adaptive(ctx context.Context) ([]row, error) {
	var rows []row
	measured := int(2000 * b.o.adaptScale)
	wants := func(r string) bool { return b.o.adaptRows == "" || strings.Contains(","+b.o.adaptRows+",", ","+r+",") }
	if wants("rate") {
		r, err := b.adaptiveSteady(ctx, "adaptive-rate", "20 calls/s", 20, []string{"--rps", "20", "--burst", "5"}, measured)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	if wants("inflight") {
		// 6 in flight at 100–300 ms (mean 200 ms): 30 calls/s.
		r, err := b.adaptiveSteady(ctx, "adaptive-inflight", "6 calls in flight", 30, []string{"--max-concurrent", "6"}, measured)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	if wants("step") {
		r, err := b.adaptiveStep(ctx)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	if b.o.wants("rate") || !wants("exact") {
		return rows, nil // the rate rows are the exact-limit rows, measured once
	}
	r, err := b.rate(ctx)
	if err != nil {
		return nil, err
	}
	for i := range r {
		r[i].name = "configured exactly: " + r[i].name
	}
	return append(rows, r...), nil
}

const (
	adaptLatency = "100ms"
	adaptJitter  = "200ms" // 100–300 ms
	adaptPoll    = 250 * time.Millisecond
)

// tick is one poll of the emulator's counters.
type tick struct {
	at        time.Time
	ok, thrtl int
}

// adaptiveStack starts a stack with no limit in the config, puts docs
// documents, enqueues them and starts the workers; the caller closes it
// and stops the processes.
func (b *bench) adaptiveStack(ctx context.Context, name string, docs int, emuArgs []string) (*stack.Stack, []*stack.Proc, error) {
	o := b.o
	cfg := benchConfig(vendorConfig{concurrency: o.rateConc}, o.rateConc, 2<<20) // rateLimit {rps: 0}: adaptive
	args := append([]string{"--latency", adaptLatency, "--jitter", adaptJitter}, emuArgs...)
	s, err := b.newStack(ctx, name, cfg, args...)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*stack.Stack, []*stack.Proc, error) { s.Close(); return nil, nil, err }
	if err := s.Store.CreateBucket(ctx, "bench"); err != nil {
		return fail(err)
	}
	b.logf("%s: putting %d documents", name, docs)
	if err := putMany(ctx, s.Store.Bucket("bench"), docs, 8, func(i int) string { return fmt.Sprintf("a/src/%06d.png", i) },
		func(i int) []byte { return testimages.PNG(int64(i+1), 32, 32, nil) }); err != nil {
		return fail(err)
	}
	out, errOut, code, err := s.Run(ctx, "producer", "enqueue", "--type", "receipt", "--out", "s3://bench/a/out/", "--batch", name, "s3://bench/a/src/")
	if err != nil || code != 0 {
		return fail(fmt.Errorf("producer enqueue: exit %d %v\n%s%s", code, err, out, errOut))
	}
	var procs []*stack.Proc
	for range o.workers {
		p, err := s.StartWorker("--concurrency", fmt.Sprint(o.rateConc))
		if err != nil {
			stopAll(procs)
			return fail(err)
		}
		procs = append(procs, p)
	}
	b.logf("%s: %s; %d workers × %d, no limit in the config", name, strings.TrimSpace(out), o.workers, o.rateConc)
	return s, procs, nil
}

// track polls the emulator until want successes, calling at(elapsed) after
// each poll (to change the vendor's limit mid-run).
func track(ctx context.Context, s *stack.Stack, want int, timeout time.Duration, at func(time.Duration) error) ([]tick, error) {
	start := time.Now()
	var out []tick
	t := time.NewTicker(adaptPoll)
	defer t.Stop()
	for {
		c, err := clovaCalls(ctx, s)
		if err != nil {
			return out, err
		}
		out = append(out, tick{time.Now(), c["SUCCESS"], c["0025"]})
		if c["SUCCESS"] >= want {
			return out, nil
		}
		if time.Since(start) > timeout {
			return out, fmt.Errorf("%d of %d calls answered after %s", c["SUCCESS"], want, timeout)
		}
		if at != nil {
			if err := at(time.Since(start)); err != nil {
				return out, err
			}
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-t.C:
		}
	}
}

// tickAt is the last tick at or before t (the first if none).
func tickAt(ts []tick, t time.Time) tick {
	k := ts[0]
	for _, x := range ts {
		if x.at.After(t) {
			break
		}
		k = x
	}
	return k
}

// timeline logs, every 5 s, the vendor's answers per second since the
// last line and the fleet's learned limits: the run's story, for the
// analysis in docs/benchmarks.md.
func (b *bench) timeline(ctx context.Context, s *stack.Stack, name string) func(time.Duration) error {
	var last tick
	var lastAt time.Duration
	return func(el time.Duration) error {
		if el-lastAt < 5*time.Second {
			return nil
		}
		c, err := clovaCalls(ctx, s)
		if err != nil {
			return err
		}
		secs := (el - lastAt).Seconds()
		b.logf("%s: t=%2.0fs %5.1f ok/s %4.1f throttled/s; learned %s", name, el.Seconds(),
			float64(c["SUCCESS"]-last.ok)/secs, float64(c["0025"]-last.thrtl)/secs, learned(ctx, s))
		last, lastAt = tick{ok: c["SUCCESS"], thrtl: c["0025"]}, el
		return nil
	}
}

// learned is the fleet's learned limits, for the log.
func learned(ctx context.Context, s *stack.Stack) string {
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr})
	defer rdb.Close()
	st, ok, err := ratelimit.Learned(ctx, rdb, "clova")
	if err != nil || !ok {
		return fmt.Sprintf("none (%v)", err)
	}
	return fmt.Sprintf("%.1f calls/s, %d in flight, mode %q (%s), slow start %v, %d decreases", st.RPS, st.InFlight, st.Mode, st.LastCause, st.SlowStart, st.Decreases)
}

// warmup is the 20 s, scaled by --adaptive-scale.
func (b *bench) warmup() time.Duration {
	return time.Duration(float64(20*time.Second) * b.o.adaptScale)
}

func (b *bench) adaptiveSteady(ctx context.Context, name, limit string, capacity float64, emuArgs []string, measured int) ([]row, error) {
	adaptWarmup := b.warmup()
	docs := int(capacity*adaptWarmup.Seconds()) + measured + 200
	s, procs, err := b.adaptiveStack(ctx, name, docs, emuArgs)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	defer func() { stopAll(procs) }()
	ts, err := track(ctx, s, docs, time.Duration(float64(docs)/capacity*3*float64(time.Second))+time.Minute, b.timeline(ctx, s, name))
	if err != nil {
		return nil, err
	}
	b.logf("%s: learned %s", name, learned(ctx, s))
	stopAll(procs)
	procs = nil
	// From the end of the warm-up to the poll that saw docs - 24 answers
	// (the tail, with fewer documents left than slots, is not the limit's).
	a := tickAt(ts, ts[0].at.Add(adaptWarmup))
	var z tick
	for _, x := range ts {
		z = x
		if x.ok >= docs-b.o.workers*b.o.rateConc {
			break
		}
	}
	span := z.at.Sub(a.at).Seconds()
	n := z.ok - a.ok
	last := ts[len(ts)-1]
	calls := last.ok + last.thrtl
	if span <= 0 || calls == 0 {
		return nil, fmt.Errorf("%s: nothing measured", name)
	}
	got := float64(n) / span
	ratio := got / capacity
	share := float64(last.thrtl) / float64(calls)
	b.logf("%s: %.2f calls/s of %g after %s (%d calls in %.1f s); %d of %d calls throttled (%d after the warm-up)",
		name, got, capacity, adaptWarmup, n, span, last.thrtl, calls, last.thrtl-a.thrtl)
	enough := noGoal
	if n < measured {
		enough = fail
	}
	return []row{
		{
			name:   fmt.Sprintf("unconfigured, vendor limit %s: rate ÷ capacity after %s", limit, adaptWarmup),
			raw:    fmt.Sprintf("%.2f of %g calls/s: %d calls in %.1f s", got, capacity, n, span),
			ratio:  fmt.Sprintf("%.3f", ratio),
			target: "≥ 0.95",
			pass:   worst(atLeast(ratio, 0.95), enough),
		},
		{
			name:   fmt.Sprintf("unconfigured, vendor limit %s: throttled ÷ calls, whole run", limit),
			raw:    fmt.Sprintf("%d of %d calls (%d after the warm-up)", last.thrtl, calls, last.thrtl-a.thrtl),
			ratio:  fmt.Sprintf("%.4f", share),
			target: "≤ 0.01",
			pass:   atMost(share, 0.01),
		},
	}, nil
}

// adaptiveStep: the vendor's 20 calls/s halves to 10 after the warm-up and
// doubles back to 20 later.
func (b *bench) adaptiveStep(ctx context.Context) ([]row, error) {
	const name = "adaptive-step"
	phases := []struct {
		rps float64
		dur time.Duration
	}{{20, 30 * time.Second}, {10, 30 * time.Second}, {20, 30 * time.Second}}
	for i := range phases {
		phases[i].dur = max(20*time.Second, time.Duration(float64(phases[i].dur)*b.o.adaptScale))
	}
	docs := 0
	for _, p := range phases {
		docs += int(p.rps * p.dur.Seconds())
	}
	s, procs, err := b.adaptiveStack(ctx, name, docs+400, []string{"--rps", "20", "--burst", "5"})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	defer func() { stopAll(procs) }()
	lat, _ := time.ParseDuration(adaptLatency)
	jit, _ := time.ParseDuration(adaptJitter)
	var changes []time.Time
	next, end := 1, phases[0].dur
	tl := b.timeline(ctx, s, name)
	ts, err := track(ctx, s, docs+400, 5*time.Minute, func(el time.Duration) error {
		if err := tl(el); err != nil {
			return err
		}
		if next >= len(phases) {
			if el >= end {
				return errStop
			}
			return nil
		}
		if el < end {
			return nil
		}
		p := phases[next]
		b.logf("%s: at %s the vendor's limit goes to %g calls/s (learned: %s)", name, el.Round(time.Second), p.rps, learned(ctx, s))
		changes = append(changes, time.Now())
		next++
		end += p.dur
		return s.SetBehavior(ctx, "clova-ocr", emulator.Behavior{RPS: p.rps, Burst: int(p.rps / 4), Latency: lat, LatencyJitter: jit})
	})
	if err != nil && err != errStop {
		return nil, err
	}
	b.logf("%s: learned at the end %s", name, learned(ctx, s))
	stopAll(procs)
	procs = nil
	var rows []row
	for i, at := range changes {
		capacity := phases[i+1].rps
		rec, thr, calls := recovery(ts, at, capacity)
		verb := "halves"
		if capacity > phases[i].rps {
			verb = "doubles"
		}
		raw := fmt.Sprintf("back in %.1f s; %d of %d calls throttled in the 15 s after", rec.Seconds(), thr, calls)
		ok := rec >= 0 && rec <= 15*time.Second
		if rec < 0 {
			raw = fmt.Sprintf("not back within the phase; %d of %d calls throttled in the 15 s after", thr, calls)
		}
		share := 0.0
		if calls > 0 {
			share = float64(thr) / float64(calls)
		}
		b.logf("%s: limit %s to %g: %s", name, verb, capacity, raw)
		v := pass
		if !ok || share > 0.05 {
			v = fail
		}
		rows = append(rows, row{
			name:   fmt.Sprintf("unconfigured, vendor limit %s to %g calls/s: seconds to within 10 %%", verb, capacity),
			raw:    raw,
			ratio:  fmt.Sprintf("%.1f s, %.1f %% throttled", rec.Seconds(), 100*share),
			target: "≤ 15 s, ≤ 5 % throttled",
			pass:   v,
		})
	}
	return rows, nil
}

var errStop = fmt.Errorf("phases over")

// recovery is the time from a change of the vendor's limit to the end of
// the first 3 s window whose successes are within 10 % of capacity with
// under 5 % of its calls throttled (-1 if none before the next change or
// the end), and the throttles and calls of the 15 s after the change.
func recovery(ts []tick, change time.Time, capacity float64) (time.Duration, int, int) {
	const win = 3 * time.Second
	a := tickAt(ts, change)
	z := tickAt(ts, change.Add(15*time.Second))
	thr, calls := z.thrtl-a.thrtl, (z.ok+z.thrtl)-(a.ok+a.thrtl)
	for _, x := range ts {
		if x.at.Before(change.Add(win)) {
			continue
		}
		w := tickAt(ts, x.at.Add(-win))
		secs := x.at.Sub(w.at).Seconds()
		if secs <= 0 {
			continue
		}
		rate := float64(x.ok-w.ok) / secs
		n := (x.ok + x.thrtl) - (w.ok + w.thrtl)
		if rate >= 0.9*capacity && rate <= 1.1*capacity && n > 0 && float64(x.thrtl-w.thrtl) <= 0.05*float64(n) {
			return x.at.Sub(change), thr, calls
		}
		if x.at.Sub(change) > 30*time.Second {
			break
		}
	}
	return -1, thr, calls
}

// worst is the worse of two verdicts.
func worst(a, b verdict) verdict {
	if a == fail || b == fail {
		return fail
	}
	return a
}
