package batch

// The in-flight hash: one entry per source enqueued into a batch and not yet
// counted (see the package comment). Its entry's value names the task
// ("QUEUE TASKID"), so that `producer cancel` can delete the queued tasks of
// a batch without scanning the queues.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/layout"
)

// Task is one source about to be enqueued into a batch, with the asynq task
// that will carry it.
type Task struct {
	Source string // its URI: the batch keeps only a hash of it
	Queue  string
	ID     string // the asynq task ID
}

// Chunk is what one Register call counts: sources about to be enqueued and
// sources skipped (their result is current), and, for a windowed scan, how
// far its listing got (saved with the counts, atomically).
type Chunk struct {
	Tasks   []Task
	Skipped int64
	Scan    *ScanMark // optional
}

// ScanMark is a scan's position after a chunk (scan.go).
type ScanMark struct {
	Scan   string // the scan's ID within the batch
	Cursor string // the last listed key (or a manifest's byte offset)
	Listed int64  // objects (or lines) listed in this chunk
	End    bool   // the listing is complete: the batch is sealed
}

// ErrCancelled is returned by Register for a scan whose batch was cancelled.
var ErrCancelled = errors.New("the batch was cancelled")

// registerScript: ARGV = now, skipped, retention, scan ID (” none), cursor,
// listed, end (0/1), then field, value pairs. Returns one 0/1 per pair (1:
// newly in flight, so counted in total), then done (0/1); or {-1} when the
// scan's batch was cancelled.
var registerScript = redis.NewScript(common + `
local meta, inflight, scan = KEYS[1], KEYS[6], KEYS[7]
local now, skipped, retention, sid = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
if sid ~= '' and redis.call('HGET', meta, 'cancelled') == '1' then
  return {-1}
end
touch(meta, now)
local old = legacy(meta)
local added, out = 0, {}
for i = 8, #ARGV, 2 do
  local a = 1
  if not old then
    a = redis.call('HSETNX', inflight, ARGV[i], ARGV[i+1])
  end
  out[#out+1] = a
  added = added + a
end
if added + skipped > 0 then
  redis.call('HINCRBY', meta, 'total', added + skipped)
  if skipped > 0 then
    redis.call('HINCRBY', meta, 'skipped', skipped)
  end
  reopen(meta)
end
local done = 0
if sid ~= '' then
  redis.call('HSET', scan, sid .. ':cursor', ARGV[5])
  redis.call('HINCRBY', scan, sid .. ':listed', ARGV[6])
  if ARGV[7] == '1' then
    redis.call('HSET', scan, sid .. ':state', 'done')
    redis.call('HSET', meta, 'sealed', '1')
    done = check_done(now, 0, retention)
  end
end
out[#out+1] = done
return out
`)

// Register counts a chunk in batch id, before its tasks are enqueued: each
// task's source enters the in-flight hash, so the first Finish of it counts.
// fresh[i] reports whether Tasks[i] was newly counted (false: it is in flight
// in this batch already, from an earlier enqueue). done is true when the
// chunk ended a scan and so completed the batch (every source skipped): the
// caller writes the summary. A scan's chunk in a cancelled batch returns
// ErrCancelled and counts nothing.
func (t *Tracker) Register(ctx context.Context, id string, c Chunk) (fresh []bool, done bool, err error) {
	if err := layout.CheckBatchID(id); err != nil {
		return nil, false, err
	}
	if c.Skipped < 0 {
		return nil, false, fmt.Errorf("batch %s: negative count %d", id, c.Skipped)
	}
	now := t.nowMS()
	args := make([]any, 0, 7+2*len(c.Tasks))
	args = append(args, now, c.Skipped, t.retention.Milliseconds())
	if m := c.Scan; m != nil {
		end := 0
		if m.End {
			end = 1
		}
		args = append(args, m.Scan, m.Cursor, m.Listed, end)
	} else {
		args = append(args, "", "", 0, 0)
	}
	for _, tk := range c.Tasks {
		args = append(args, sourceField(tk.Source), tk.Queue+" "+tk.ID)
	}
	res, err := registerScript.Run(ctx, t.rdb, keys(id), args...).Int64Slice()
	if err != nil {
		return nil, false, fmt.Errorf("batch %s: register: %w", id, err)
	}
	if len(res) == 1 && res[0] == -1 {
		return nil, false, ErrCancelled
	}
	if len(res) != len(c.Tasks)+1 {
		return nil, false, fmt.Errorf("batch %s: register: %d answers for %d tasks", id, len(res), len(c.Tasks))
	}
	fresh = make([]bool, len(c.Tasks))
	for i := range c.Tasks {
		fresh[i] = res[i] == 1
	}
	return fresh, res[len(res)-1] == 1, t.index(ctx, id, now)
}

// unregisterScript: ARGV = now, retention, fields. Takes them out of flight
// and out of total; returns done (0/1).
var unregisterScript = redis.NewScript(common + `
local meta, inflight = KEYS[1], KEYS[6]
if redis.call('EXISTS', meta) == 0 then
  return 0
end
local n = 0
if legacy(meta) then
  n = #ARGV - 2
else
  for i = 3, #ARGV do
    n = n + redis.call('HDEL', inflight, ARGV[i])
  end
end
if n > 0 then
  redis.call('HINCRBY', meta, 'total', -n)
end
return check_done(ARGV[1], 0, ARGV[2])
`)

// Unregister takes back sources Register counted whose task was not
// enqueued after all (asynq refused it: the same task is queued by another
// batch, which counts it) or was deleted before it ran (cancel). done: that
// completed the batch.
func (t *Tracker) Unregister(ctx context.Context, id string, sources []string) (done bool, err error) {
	if err := layout.CheckBatchID(id); err != nil {
		return false, err
	}
	if len(sources) == 0 {
		return false, nil
	}
	args := make([]any, 0, 2+len(sources))
	args = append(args, t.nowMS(), t.retention.Milliseconds())
	for _, s := range sources {
		args = append(args, sourceField(s))
	}
	n, err := unregisterScript.Run(ctx, t.rdb, keys(id), args...).Int()
	if err != nil {
		return false, fmt.Errorf("batch %s: unregister: %w", id, err)
	}
	return n == 1, nil
}

// AddSkipped counts n sources the producer skipped (result already there):
// they count in both total and skipped.
func (t *Tracker) AddSkipped(ctx context.Context, id string, n int64) error {
	_, _, err := t.Register(ctx, id, Chunk{Skipped: n})
	return err
}

// AddSources registers sources with no task named (tests, and enqueues that
// never cancel).
func (t *Tracker) AddSources(ctx context.Context, id string, sources ...string) error {
	ts := make([]Task, len(sources))
	for i, s := range sources {
		ts[i] = Task{Source: s}
	}
	_, _, err := t.Register(ctx, id, Chunk{Tasks: ts})
	return err
}

// InFlight returns how many of batch id's sources are enqueued and not yet
// counted: what a windowed scan keeps under its window. O(1).
func (t *Tracker) InFlight(ctx context.Context, id string) (int64, error) {
	n, err := t.rdb.HLen(ctx, keys(id)[kInflight]).Result()
	if err != nil {
		return 0, fmt.Errorf("batch %s: in flight: %w", id, err)
	}
	return n, nil
}

// inFlightScript: ARGV = fields; 1/0 each: still in flight.
var inFlightScript = redis.NewScript(`
local out = {}
for i = 1, #ARGV do
  out[i] = redis.call('HEXISTS', KEYS[1], ARGV[i])
end
return out
`)

// StillInFlight reports for each source whether it is registered in batch
// id and not yet counted (a resumed scan re-enqueues only those).
func (t *Tracker) StillInFlight(ctx context.Context, id string, sources []string) ([]bool, error) {
	if len(sources) == 0 {
		return nil, nil
	}
	args := make([]any, len(sources))
	for i, s := range sources {
		args[i] = sourceField(s)
	}
	res, err := inFlightScript.Run(ctx, t.rdb, []string{keys(id)[kInflight]}, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("batch %s: in flight: %w", id, err)
	}
	out := make([]bool, len(sources))
	for i := range out {
		out[i] = i < len(res) && res[i] == 1
	}
	return out, nil
}

// queuedTask is one in-flight entry as cancel reads it.
type queuedTask struct {
	field, queue, id string
}

// inFlightPage reads up to count in-flight entries from cursor (HSCAN).
func (t *Tracker) inFlightPage(ctx context.Context, id string, cursor uint64, count int64) ([]queuedTask, uint64, error) {
	kv, next, err := t.rdb.HScan(ctx, keys(id)[kInflight], cursor, "", count).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("batch %s: in flight: %w", id, err)
	}
	out := make([]queuedTask, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		q, tid, _ := strings.Cut(kv[i+1], " ")
		out = append(out, queuedTask{field: kv[i], queue: q, id: tid})
	}
	return out, next, nil
}

// dropFields is Unregister by field (cancel knows only the fields).
func (t *Tracker) dropFields(ctx context.Context, id string, fields []string) (bool, error) {
	if len(fields) == 0 {
		return false, nil
	}
	args := make([]any, 0, 2+len(fields))
	args = append(args, t.nowMS(), t.retention.Milliseconds())
	for _, f := range fields {
		args = append(args, f)
	}
	n, err := unregisterScript.Run(ctx, t.rdb, keys(id), args...).Int()
	if err != nil {
		return false, fmt.Errorf("batch %s: drop: %w", id, err)
	}
	return n == 1, nil
}
