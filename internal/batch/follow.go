package batch

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Follow shows a progress bar for batch id on w, polling every interval,
// until the batch is done (it then returns its final status) or ctx ends
// (it returns the last status seen and ctx's error). For `producer status
// --follow` and the end of `producer enqueue --wait`.
func (t *Tracker) Follow(ctx context.Context, w io.Writer, id string, interval time.Duration) (Status, error) {
	if interval <= 0 {
		interval = time.Second
	}
	s, err := t.Get(ctx, id)
	if err != nil {
		return s, err
	}
	bar := progressbar.NewOptions64(max(s.Total, 1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(id),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(interval/2),
		progressbar.OptionSetRenderBlankState(true),
	)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		bar.ChangeMax64(max(s.Total, 1))
		_ = bar.Set64(s.Counted())
		bar.Describe(fmt.Sprintf("%s ok %d failed %d skipped %d%s", id, s.Succeeded, s.Failed, s.Skipped, s.ScanLine()))
		if s.Done {
			_ = bar.Finish()
			_, _ = fmt.Fprintln(w)
			return s, nil
		}
		select {
		case <-ctx.Done():
			_, _ = fmt.Fprintln(w)
			return s, ctx.Err()
		case <-tick.C:
		}
		next, err := t.Get(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return s, ctx.Err()
			}
			return s, err
		}
		s = next
	}
}
