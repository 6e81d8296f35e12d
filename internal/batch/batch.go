// Package batch keeps per-batch progress counters in Redis: how many sources a
// batch has (total), and how many succeeded, failed or were skipped by the
// producer. Workers report each source's final outcome with Finish; the call
// that completes a sealed batch learns so, and writes the batch summary.
//
// Keys, kept while the batch runs (status outlives asynq's retention of
// finished tasks) and for the tracker's retention once it is done
// (batches.retention, default 720h: EXPIRE when it finishes, PERSIST when an
// enqueue reopens it); the index forgets batches whose keys are gone. The
// summary object in storage stays.
//
//	ocr:batch:{ID}:meta      hash: total succeeded failed skipped calls sealed startedAt updatedAt finishedAt
//	                         (calls: vendor calls made, retries and throttled calls included;
//	                         calls:<vendor>: the same per vendor name)
//	ocr:batch:{ID}:sources   hash: sha256(source URI)[:16] hex -> "s" | "f" (final outcome per source)
//	ocr:batch:{ID}:failures  hash: same field -> {"source":..., "code":...}
//	ocr:batch:{ID}:outputs   set: where the results lie (outputs.go)
//	ocr:batch:{ID}:skipped   set: same field of each source the producer skipped (outputs.go)
//	ocr:batches              sorted set: batch ids scored by start time (ms)
//
// The braces make {ID} a Redis Cluster hash tag, so one batch's keys share a
// slot and each update is one atomic Lua script.
//
// Lifecycle: the producer calls AddTotal (enqueued tasks) and AddSkipped
// (sources it skipped) while it enqueues, then Seal once it has enqueued
// everything. A batch is done when it is sealed and every counted source has
// an outcome. Enqueueing into a done batch again reopens it until the next
// Seal. Because a sealed batch can be completed either by the last Finish or
// by Seal itself (fast workers), both report done, and whoever gets done=true
// writes the summary with WriteSummary (summary.go).
package batch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/layout"
)

// Outcome statuses accepted by Finish (the result-v1 statuses).
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// ErrNotFound is returned by Get for a batch Redis knows nothing about.
var ErrNotFound = errors.New("batch not found")

// indexKey lists every batch id, scored by start time in ms.
const indexKey = "ocr:batches"

// NewID returns a fresh, sortable batch id such as "20261124-010203-9f2c1a".
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// Tracker reads and updates batch counters. It is safe for concurrent use.
type Tracker struct {
	rdb       redis.UniversalClient
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error // between summary write tries
	retention time.Duration                              // 0: keep finished batches forever
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Option tunes a Tracker.
type Option func(*Tracker)

// WithRetention keeps a finished batch's keys for d, then lets Redis drop
// them (d <= 0: forever).
func WithRetention(d time.Duration) Option { return func(t *Tracker) { t.retention = max(d, 0) } }

// New returns a Tracker on rdb. The caller keeps ownership of rdb.
func New(rdb redis.UniversalClient, opts ...Option) *Tracker {
	t := &Tracker{rdb: rdb, now: time.Now, sleep: sleepCtx}
	for _, o := range opts {
		o(t)
	}
	return t
}

func keys(id string) []string {
	p := "ocr:batch:{" + id + "}:"
	return []string{p + "meta", p + "sources", p + "failures", p + "outputs", p + "skipped"} // outputs, skipped: outputs.go
}

// sourceField identifies a source inside a batch without storing the URI in
// the counting hash: 16 bytes of its sha256 are plenty to avoid collisions
// within one batch and keep a million-source batch's hash small.
func sourceField(sourceURI string) string {
	sum := sha256.Sum256([]byte(sourceURI))
	return hex.EncodeToString(sum[:16])
}

// checkDone is shared by the scripts (KEYS: the batch's keys, meta first):
// with the time in ms, changed (0/1) and the retention in ms (0: keep), it
// returns 1 when this call completed the batch, or changed the counts of an
// already completed one (its summary must be rewritten). A done batch's
// keys expire after the retention.
const checkDone = `
local function check_done(meta, now, changed, retention)
  local v = redis.call('HMGET', meta, 'total', 'succeeded', 'failed', 'skipped', 'sealed', 'finishedAt')
  local total = tonumber(v[1] or '0')
  local counted = tonumber(v[2] or '0') + tonumber(v[3] or '0') + tonumber(v[4] or '0')
  if v[5] ~= '1' or counted < total then
    return 0
  end
  if tonumber(retention) > 0 then
    for _, k in ipairs(KEYS) do
      redis.call('PEXPIRE', k, retention)
    end
  end
  if not v[6] then
    redis.call('HSET', meta, 'finishedAt', now)
    return 1
  end
  return changed
end
local function touch(meta, now)
  redis.call('HSETNX', meta, 'startedAt', now)
  redis.call('HSET', meta, 'updatedAt', now)
end
`

// addScript: ARGV = now, n, also-skipped (0/1). Adding work reopens the batch.
var addScript = redis.NewScript(checkDone + `
local meta = KEYS[1]
touch(meta, ARGV[1])
redis.call('HINCRBY', meta, 'total', ARGV[2])
if ARGV[3] == '1' then
  redis.call('HINCRBY', meta, 'skipped', ARGV[2])
end
redis.call('HDEL', meta, 'sealed', 'finishedAt')
for _, k in ipairs(KEYS) do
  redis.call('PERSIST', k)
end
return 0
`)

// sealScript: ARGV = now, retention ms.
var sealScript = redis.NewScript(checkDone + `
local meta = KEYS[1]
touch(meta, ARGV[1])
redis.call('HSET', meta, 'sealed', '1')
return check_done(meta, ARGV[1], 0, ARGV[2])
`)

// finishScript: KEYS = meta, sources, failures; ARGV = now, field, 's'|'f',
// failure JSON, retention ms. The last outcome of a source wins; it is counted once.
var finishScript = redis.NewScript(checkDone + `
local meta, sources, failures = KEYS[1], KEYS[2], KEYS[3]
local now, field, st = ARGV[1], ARGV[2], ARGV[3]
touch(meta, now)
local prev = redis.call('HGET', sources, field)
local changed = 0
if prev ~= st then
  changed = 1
  if prev == 's' then redis.call('HINCRBY', meta, 'succeeded', -1) end
  if prev == 'f' then redis.call('HINCRBY', meta, 'failed', -1) end
  if st == 's' then
    redis.call('HINCRBY', meta, 'succeeded', 1)
    redis.call('HDEL', failures, field)
  else
    redis.call('HINCRBY', meta, 'failed', 1)
  end
  redis.call('HSET', sources, field, st)
end
if st == 'f' then
  if redis.call('HGET', failures, field) ~= ARGV[4] then
    changed = 1
  end
  redis.call('HSET', failures, field, ARGV[4])
end
return check_done(meta, now, changed, ARGV[5])
`)

func (t *Tracker) nowMS() int64 { return t.now().UnixMilli() }

// AddTotal counts n more enqueued sources in batch id (and reopens the batch
// if it was done). Call it only for tasks that were really enqueued, not for
// duplicates asynq refused.
func (t *Tracker) AddTotal(ctx context.Context, id string, n int64) error {
	return t.add(ctx, id, n, false)
}

// AddSkipped counts n sources the producer skipped (result already there):
// they count in both total and skipped.
func (t *Tracker) AddSkipped(ctx context.Context, id string, n int64) error {
	return t.add(ctx, id, n, true)
}

func (t *Tracker) add(ctx context.Context, id string, n int64, skipped bool) error {
	if err := layout.CheckBatchID(id); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("batch %s: negative count %d", id, n)
	}
	now := t.nowMS()
	flag := "0"
	if skipped {
		flag = "1"
	}
	if err := addScript.Run(ctx, t.rdb, keys(id), now, n, flag).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("batch %s: add: %w", id, err)
	}
	// The index lives outside the batch's hash slot, so it is updated
	// separately; it only serves listing and losing a race here is harmless.
	if err := t.rdb.ZAddNX(ctx, indexKey, redis.Z{Score: float64(now), Member: id}).Err(); err != nil {
		return fmt.Errorf("batch %s: index: %w", id, err)
	}
	return t.trimIndex(ctx, now)
}

// trimBatch bounds the work of one trimIndex.
const trimBatch = 100

// trimIndex drops from the index batches that started more than the
// retention ago and whose keys Redis has since expired. A batch cannot
// expire before that (it finishes after it starts), so older entries are
// the only candidates; a few per add keep the index from growing forever.
func (t *Tracker) trimIndex(ctx context.Context, now int64) error {
	if t.retention <= 0 {
		return nil
	}
	cutoff := strconv.FormatInt(now-t.retention.Milliseconds(), 10)
	old, err := t.rdb.ZRangeByScore(ctx, indexKey, &redis.ZRangeBy{Min: "-inf", Max: cutoff, Count: trimBatch}).Result()
	if err != nil {
		return fmt.Errorf("batch index trim: %w", err)
	}
	for _, id := range old {
		n, err := t.rdb.Exists(ctx, keys(id)[0]).Result()
		if err != nil {
			return fmt.Errorf("batch index trim: %w", err)
		}
		if n == 0 {
			if err := t.rdb.ZRem(ctx, indexKey, id).Err(); err != nil {
				return fmt.Errorf("batch index trim: %w", err)
			}
		}
	}
	return nil
}

// Seal marks that the producer has enqueued everything for batch id. It
// reports done when every source already has an outcome; the caller then
// writes the summary.
func (t *Tracker) Seal(ctx context.Context, id string) (done bool, err error) {
	if err := layout.CheckBatchID(id); err != nil {
		return false, err
	}
	n, err := sealScript.Run(ctx, t.rdb, keys(id), t.nowMS(), t.retention.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("batch %s: seal: %w", id, err)
	}
	return n == 1, nil
}

// Finish records the final outcome of one source: status is StatusSucceeded
// or StatusFailed, code the result-v1 error code of a failure. A source
// finished twice (a re-run task) is counted once, with its latest outcome.
// done is true when this call completed the batch, or changed an already
// completed batch: the caller then (re)writes the summary.
func (t *Tracker) Finish(ctx context.Context, id, sourceURI, status, code string) (done bool, err error) {
	if err := layout.CheckBatchID(id); err != nil {
		return false, err
	}
	var st, failure string
	switch status {
	case StatusSucceeded:
		st = "s"
	case StatusFailed:
		st = "f"
		b, err := json.Marshal(Failure{Source: sourceURI, Code: code})
		if err != nil {
			return false, fmt.Errorf("batch %s: %w", id, err)
		}
		failure = string(b)
	default:
		return false, fmt.Errorf("batch %s: unknown status %q", id, status)
	}
	n, err := finishScript.Run(ctx, t.rdb, keys(id), t.nowMS(), sourceField(sourceURI), st, failure, t.retention.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("batch %s: finish: %w", id, err)
	}
	return n == 1, nil
}

// callsScript: ARGV = n, vendor. Counts vendor calls of a batch that
// exists (an expired batch is not brought back by a late call).
var callsScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'calls:' .. ARGV[2], ARGV[1])
  return redis.call('HINCRBY', KEYS[1], 'calls', ARGV[1])
end
return 0
`)

// callsField prefixes the per-vendor call counts in the meta hash.
const callsField = "calls:"

// AddCalls counts n calls to vendor (a configured vendor name) made for
// batch id: every call, retries and throttled ones included (what the
// vendors bill, and what the budget counts, is close to this). The summary
// and `producer status` show them.
func (t *Tracker) AddCalls(ctx context.Context, id, vendor string, n int64) error {
	if err := layout.CheckBatchID(id); err != nil {
		return err
	}
	if err := callsScript.Run(ctx, t.rdb, keys(id)[:1], n, vendor).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("batch %s: count calls: %w", id, err)
	}
	return nil
}

// Get returns the batch's counters, or ErrNotFound.
func (t *Tracker) Get(ctx context.Context, id string) (Status, error) {
	if err := layout.CheckBatchID(id); err != nil {
		return Status{}, err
	}
	m, err := t.rdb.HGetAll(ctx, keys(id)[0]).Result()
	if err != nil {
		return Status{}, fmt.Errorf("batch %s: get: %w", id, err)
	}
	if len(m) == 0 {
		return Status{}, fmt.Errorf("batch %s: %w", id, ErrNotFound)
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	ms := func(k string) time.Time {
		if m[k] == "" {
			return time.Time{}
		}
		return time.UnixMilli(num(k)).UTC()
	}
	s := Status{
		ID:         id,
		Total:      num("total"),
		Succeeded:  num("succeeded"),
		Failed:     num("failed"),
		Skipped:    num("skipped"),
		Calls:      num("calls"),
		Sealed:     m["sealed"] == "1",
		StartedAt:  ms("startedAt"),
		UpdatedAt:  ms("updatedAt"),
		FinishedAt: ms("finishedAt"),
	}
	s.Done = !s.FinishedAt.IsZero()
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, callsField); ok {
			if s.VendorCalls == nil {
				s.VendorCalls = map[string]int64{}
			}
			s.VendorCalls[name], _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return s, nil
}

// Failures lists the failed sources of batch id with their codes, in no
// particular order (Summary sorts them).
func (t *Tracker) Failures(ctx context.Context, id string) ([]Failure, error) {
	if err := layout.CheckBatchID(id); err != nil {
		return nil, err
	}
	var out []Failure
	// HSCAN rather than HGETALL: a large batch's failures must not block Redis.
	it := t.rdb.HScan(ctx, keys(id)[2], 0, "", 500).Iterator()
	for i := 0; it.Next(ctx); i++ {
		if i%2 == 0 {
			continue // field (the source hash)
		}
		var f Failure
		if err := json.Unmarshal([]byte(it.Val()), &f); err != nil {
			return nil, fmt.Errorf("batch %s: corrupt failure entry: %w", id, err)
		}
		out = append(out, f)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("batch %s: failures: %w", id, err)
	}
	return out, nil
}

// List returns batch ids, newest first, at most limit (0: all).
func (t *Tracker) List(ctx context.Context, limit int64) ([]string, error) {
	ids, err := t.rdb.ZRevRange(ctx, indexKey, 0, limit-1).Result()
	if err != nil {
		return nil, fmt.Errorf("batch list: %w", err)
	}
	return ids, nil
}

// Delete removes every key of batch id. Results in storage are untouched.
func (t *Tracker) Delete(ctx context.Context, id string) error {
	if err := layout.CheckBatchID(id); err != nil {
		return err
	}
	// UNLINK frees large hashes in the background.
	if err := t.rdb.Unlink(ctx, keys(id)...).Err(); err != nil {
		return fmt.Errorf("batch %s: delete: %w", id, err)
	}
	if err := t.rdb.ZRem(ctx, indexKey, id).Err(); err != nil {
		return fmt.Errorf("batch %s: delete: %w", id, err)
	}
	return nil
}
