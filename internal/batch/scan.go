package batch

// A windowed scan's durable position, kept in the batch's scan hash, per
// scan ID (several scans may feed one batch):
//
//	SID:cursor  the last key (or manifest byte offset) whose task is counted
//	SID:from    the cursor when the current step began: a step that is run
//	            again (its worker died) re-enqueues what it registered since
//	SID:step    the step that runs now (each step is its own asynq task)
//	SID:listed  objects (lines) listed so far
//	SID:state   listing | done
//
// and in meta: cancelled = 1 once `producer cancel` ran.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/layout"
)

// StepState says what a scan step is to do.
type StepState int

const (
	StepStart     StepState = iota // a new step: continue from Cursor
	StepResume                     // this step ran before: redo (From, Cursor], then continue
	StepStale                      // a later step exists: do nothing
	StepDone                       // the listing is complete
	StepCancelled                  // the batch was cancelled
)

// Step is a scan step's starting point.
type Step struct {
	State        StepState
	Cursor, From string
}

// beginScript: ARGV = scan ID, step, now.
var beginScript = redis.NewScript(common + `
local meta, scan = KEYS[1], KEYS[7]
local sid, step = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', meta, 'cancelled') == '1' then
  return {'cancelled'}
end
if redis.call('HGET', scan, sid .. ':state') == 'done' then
  return {'done'}
end
local cur = tonumber(redis.call('HGET', scan, sid .. ':step') or '-1')
local cursor = redis.call('HGET', scan, sid .. ':cursor') or ''
if cur > step then
  return {'stale'}
end
if cur == step then
  return {'resume', cursor, redis.call('HGET', scan, sid .. ':from') or ''}
end
touch(meta, ARGV[3])
redis.call('HSET', scan, sid .. ':step', step, sid .. ':from', cursor, sid .. ':state', 'listing')
redis.call('HSETNX', scan, sid .. ':listed', 0)
return {'start', cursor, cursor}
`)

// BeginStep starts step number step of scan sid in batch id, or tells it
// to resume, or that it has nothing to do.
func (t *Tracker) BeginStep(ctx context.Context, id, sid string, step int64) (Step, error) {
	if err := layout.CheckBatchID(id); err != nil {
		return Step{}, err
	}
	res, err := beginScript.Run(ctx, t.rdb, keys(id), sid, step, t.nowMS()).StringSlice()
	if err != nil || len(res) == 0 {
		return Step{}, fmt.Errorf("batch %s: scan step: %v", id, err)
	}
	switch res[0] {
	case "cancelled":
		return Step{State: StepCancelled}, nil
	case "done":
		return Step{State: StepDone}, nil
	case "stale":
		return Step{State: StepStale}, nil
	}
	if len(res) != 3 {
		return Step{}, fmt.Errorf("batch %s: scan step: %d answers", id, len(res))
	}
	st := StepStart
	if res[0] == "resume" {
		st = StepResume
	}
	if err := t.index(ctx, id, t.nowMS()); err != nil {
		return Step{}, err
	}
	return Step{State: st, Cursor: res[1], From: res[2]}, nil
}

// scanProgress sums the batch's scans for Get: objects listed, and whether
// any is still listing.
func (t *Tracker) scanProgress(ctx context.Context, id string) (listed int64, listing, any bool, err error) {
	m, err := t.rdb.HGetAll(ctx, keys(id)[kScan]).Result()
	if err != nil {
		return 0, false, false, fmt.Errorf("batch %s: scans: %w", id, err)
	}
	for k, v := range m {
		switch {
		case strings.HasSuffix(k, ":listed"):
			n, _ := strconv.ParseInt(v, 10, 64)
			listed += n
			any = true
		case strings.HasSuffix(k, ":state"):
			listing = listing || v == "listing"
		}
	}
	return listed, listing, any, nil
}

// cancelScript: ARGV = now, retention. Marks the batch cancelled and sealed
// (no scan lists more); returns done.
var cancelScript = redis.NewScript(common + `
local meta = KEYS[1]
if redis.call('EXISTS', meta) == 0 then
  return -1
end
touch(meta, ARGV[1])
redis.call('HSET', meta, 'cancelled', '1', 'sealed', '1')
return check_done(ARGV[1], 0, ARGV[2])
`)

// Deleter deletes a queued (pending, scheduled or retry) task; it reports
// whether it did (false: the task runs now, or is gone).
type Deleter func(ctx context.Context, queue, taskID string) bool

// cancelPasses: a scan step may be enqueueing a chunk it registered just
// before the cancel; a second pass a moment later deletes those too.
const cancelPasses = 2

// Cancel stops batch id's scans and deletes its queued tasks with del: the
// tasks that run now finish and count; the deleted ones leave the batch's
// total. done: the batch is complete now (nothing was running), the caller
// writes the summary. dropped is how many tasks were deleted.
func (t *Tracker) Cancel(ctx context.Context, id string, del Deleter, pause func()) (dropped int, done bool, err error) {
	if err := layout.CheckBatchID(id); err != nil {
		return 0, false, err
	}
	n, err := cancelScript.Run(ctx, t.rdb, keys(id), t.nowMS(), t.retention.Milliseconds()).Int()
	if err != nil {
		return 0, false, fmt.Errorf("batch %s: cancel: %w", id, err)
	}
	if n == -1 {
		return 0, false, fmt.Errorf("batch %s: %w", id, ErrNotFound)
	}
	done = n == 1
	for pass := range cancelPasses {
		if pass > 0 && pause != nil {
			pause()
		}
		var cursor uint64
		for {
			page, next, err := t.inFlightPage(ctx, id, cursor, 500)
			if err != nil {
				return dropped, done, err
			}
			var gone []string
			for _, q := range page {
				if q.id == "" {
					continue
				}
				// A task handed back on its last try runs under HandBackID.
				if del(ctx, q.queue, q.id) || del(ctx, q.queue, layout.HandBackID(q.id)) {
					gone = append(gone, q.field)
				}
			}
			d, err := t.dropFields(ctx, id, gone)
			if err != nil {
				return dropped, done, err
			}
			dropped += len(gone)
			done = done || d
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return dropped, done, nil
}
