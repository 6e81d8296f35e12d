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
//	ocr:batch:{ID}:meta      hash: total succeeded failed skipped sealed startedAt updatedAt finishedAt
//	                         pages calls fmt ("2": this format) spills cancelled
//	                         (calls: vendor calls made, retries and throttled calls included;
//	                         calls:<vendor>: the same per vendor name)
//	ocr:batch:{ID}:inflight  hash: sha256(source URI)[:16] hex -> "QUEUE TASKID", one per
//	                         source enqueued and not yet counted (inflight.go)
//	ocr:batch:{ID}:failures  hash: same field -> {"source":..., "code":...}, at most
//	                         SpillAt; more go to storage (spill.go)
//	ocr:batch:{ID}:spills    set: where the spilled failures lie
//	ocr:batch:{ID}:scan      hash: the cursors of the batch's windowed scans (scan.go)
//	ocr:batch:{ID}:outputs   set: where the results lie (outputs.go)
//	ocr:batch:{ID}:skipped   set: same field of each source the producer skipped (outputs.go)
//	ocr:batch:{ID}:sources   hash: same field -> "s" | "f": batches started before
//	                         fmt 2 only (read and updated, never created)
//	ocr:batches              sorted set: batch ids scored by start time (ms)
//
// The braces make {ID} a Redis Cluster hash tag, so one batch's keys share a
// slot and each update is one atomic Lua script.
//
// Exactly once without a record per source: the producer registers each
// source in the in-flight hash (and counts it in total) before it enqueues
// its task; the Finish that removes it counts the outcome, any later Finish
// of the same source (a re-run after a crash, a duplicate delivery) finds
// nothing to remove and counts nothing. So Redis holds one small entry per
// task queued, not per source ever seen, and a done batch only its counters
// (and at most SpillAt failures). The in-flight hash's size is what a
// windowed scan measures its window by.
//
// Lifecycle: the producer calls Register (sources about to be enqueued and
// sources skipped) while it enqueues, Unregister for those asynq refused as
// duplicates, then Seal once it has enqueued everything. A batch is done when
// it is sealed and every counted source has an outcome. Enqueueing into a
// done batch again reopens it until the next Seal. Because a sealed batch can
// be completed either by the last Finish or by Seal itself (fast workers),
// both report done, and whoever gets done=true writes the summary with
// WriteSummary (summary.go).
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

	"github.com/ocrbatch/ocrworker/internal/clock"
	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
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
	store     storage.Store                              // optional: reads failures spilled to other buckets
	spill     int                                        // failures kept in Redis; 0: SpillAt
}

// WithStore lets the tracker read failures spilled to any bucket when it
// writes a summary (spill.go).
func WithStore(s storage.Store) Option { return func(t *Tracker) { t.store = s } }

// Option tunes a Tracker.
type Option func(*Tracker)

// WithRetention keeps a finished batch's keys for d, then lets Redis drop
// them (d <= 0: forever).
func WithRetention(d time.Duration) Option { return func(t *Tracker) { t.retention = max(d, 0) } }

// New returns a Tracker on rdb. The caller keeps ownership of rdb.
func New(rdb redis.UniversalClient, opts ...Option) *Tracker {
	t := &Tracker{rdb: rdb, now: time.Now, sleep: clock.Sleep}
	for _, o := range opts {
		o(t)
	}
	return t
}

// The batch's keys, by position in keys(id): scripts get them all (KEYS),
// so that a batch that finishes expires every one of them.
const (
	kMeta = iota
	kSources
	kFailures
	kOutputs
	kSkipped
	kInflight
	kScan
	kSpills
)

func keys(id string) []string {
	p := "ocr:batch:{" + id + "}:"
	return []string{p + "meta", p + "sources", p + "failures", p + "outputs", p + "skipped", // outputs, skipped: outputs.go
		p + "inflight", p + "scan", p + "spills"}
}

// sourceField identifies a source inside a batch without storing the URI:
// 16 bytes of its sha256 are plenty to avoid collisions within one batch.
func sourceField(sourceURI string) string {
	sum := sha256.Sum256([]byte(sourceURI))
	return hex.EncodeToString(sum[:16])
}

// common is shared by the scripts (KEYS: keys(id)). check_done, with the
// time in ms, changed (0/1) and the retention in ms (0: keep), returns 1
// when this call completed the batch, or changed the counts of an already
// completed one (its summary must be rewritten). A done batch's keys expire
// after the retention. touch creates a batch in this format (fmt 2); a batch
// whose meta exists without fmt was started by an older version (legacy).
const common = `
local function check_done(now, changed, retention)
  local meta = KEYS[1]
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
  if redis.call('EXISTS', meta) == 0 then
    redis.call('HSET', meta, 'fmt', '2')
  end
  redis.call('HSETNX', meta, 'startedAt', now)
  redis.call('HSET', meta, 'updatedAt', now)
end
local function reopen(meta)
  redis.call('HDEL', meta, 'sealed', 'finishedAt')
  for _, k in ipairs(KEYS) do
    redis.call('PERSIST', k)
  end
end
local function legacy(meta)
  return redis.call('HGET', meta, 'fmt') ~= '2'
end
`

// sealScript: ARGV = now, retention ms.
var sealScript = redis.NewScript(common + `
local meta = KEYS[1]
touch(meta, ARGV[1])
redis.call('HSET', meta, 'sealed', '1')
return check_done(ARGV[1], 0, ARGV[2])
`)

// finishScript: ARGV = now, field, 's'|'f', failure JSON, retention ms,
// replaced ('s'|'f': the outcome of this batch's own earlier result of the
// source, which this run's result replaced; ” otherwise).
var finishScript = redis.NewScript(common + `
local meta, sources, failures, inflight = KEYS[1], KEYS[2], KEYS[3], KEYS[6]
local now, field, st, failure, retention, replaced = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('EXISTS', meta) == 0 then
  return 0 -- no such batch (expired, or never registered): nothing to count
end
local changed = 0
if legacy(meta) then
  -- A batch started before fmt 2 keeps its per-source hash to the end: the
  -- last outcome of a source wins; it is counted once.
  touch(meta, now)
  local prev = redis.call('HGET', sources, field)
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
    if redis.call('HGET', failures, field) ~= failure then
      changed = 1
    end
    redis.call('HSET', failures, field, failure)
  end
  return check_done(now, changed, retention)
end
if redis.call('HDEL', inflight, field) == 0 then
  return 0 -- counted already (a re-run, a duplicate delivery), or not this batch's
end
touch(meta, now)
if replaced == 's' or replaced == 'f' then
  -- The source was enqueued into this batch again (--force, a changed
  -- source) and its earlier outcome here is replaced: one source, its
  -- latest outcome.
  local counter = 'succeeded'
  if replaced == 'f' then counter = 'failed' end
  if tonumber(redis.call('HGET', meta, counter) or '0') > 0 then
    redis.call('HINCRBY', meta, counter, -1)
    redis.call('HINCRBY', meta, 'total', -1)
    if replaced == 'f' then redis.call('HDEL', failures, field) end
  end
end
if st == 's' then
  redis.call('HINCRBY', meta, 'succeeded', 1)
else
  redis.call('HINCRBY', meta, 'failed', 1)
  redis.call('HSET', failures, field, failure)
end
return check_done(now, 1, retention)
`)

func (t *Tracker) nowMS() int64 { return t.now().UnixMilli() }

// index records a batch in the list of batches. The index lives outside the
// batch's hash slot, so it is updated separately; it only serves listing and
// losing a race here is harmless.
func (t *Tracker) index(ctx context.Context, id string, now int64) error {
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
// or StatusFailed, code the result-v1 error code of a failure. Only the
// first Finish after the source was registered counts (a re-run task
// counts nothing). done is true when this call completed the batch, or
// changed an already completed batch: the caller then (re)writes the summary.
func (t *Tracker) Finish(ctx context.Context, id, sourceURI, status, code string) (done bool, err error) {
	return t.FinishReplacing(ctx, id, sourceURI, status, code, "")
}

// FinishReplacing is Finish for a run whose result replaced a result this
// same batch had counted (replaced: that result's status): the source was
// enqueued into the batch again, and its new outcome takes the place of the
// old one instead of counting twice.
func (t *Tracker) FinishReplacing(ctx context.Context, id, sourceURI, status, code, replaced string) (done bool, err error) {
	if err := layout.CheckBatchID(id); err != nil {
		return false, err
	}
	st, err := statusLetter(status)
	if err != nil {
		return false, fmt.Errorf("batch %s: %w", id, err)
	}
	var failure string
	if st == "f" {
		b, err := json.Marshal(Failure{Source: sourceURI, Code: code})
		if err != nil {
			return false, fmt.Errorf("batch %s: %w", id, err)
		}
		failure = string(b)
	}
	prev, _ := statusLetter(replaced)
	n, err := finishScript.Run(ctx, t.rdb, keys(id), t.nowMS(), sourceField(sourceURI), st, failure,
		t.retention.Milliseconds(), prev).Int()
	if err != nil {
		return false, fmt.Errorf("batch %s: finish: %w", id, err)
	}
	return n == 1, nil
}

func statusLetter(status string) (string, error) {
	switch status {
	case StatusSucceeded:
		return "s", nil
	case StatusFailed:
		return "f", nil
	}
	return "", fmt.Errorf("unknown status %q", status)
}

// callsField prefixes the per-vendor call counts in the meta hash.
const callsField = "calls:"

// spentScript: ARGV = pages, calls, vendor ("" for none). Only a batch
// that exists counts: an expired or unknown one is not brought back as an
// empty hash.
var spentScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'pages', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'calls', ARGV[2])
if ARGV[3] ~= '' and tonumber(ARGV[2]) ~= 0 then
  redis.call('HINCRBY', KEYS[1], 'calls:' .. ARGV[3], ARGV[2])
end
return 1
`)

// Spent adds what one task run used to batch id: pages read (each page
// once, when its answer is final) and vendor calls made (every call,
// retries and throttled ones included: what the vendors bill, and what the
// budget counts, is close to this), the calls also under vendor (a
// configured vendor name; "" counts them in the total only). Call it
// before the source's Finish, so the summary that Finish may trigger
// includes it.
func (t *Tracker) Spent(ctx context.Context, id, vendor string, pages, calls int64) error {
	if err := layout.CheckBatchID(id); err != nil {
		return err
	}
	if pages == 0 && calls == 0 {
		return nil
	}
	if err := spentScript.Run(ctx, t.rdb, keys(id)[:1], pages, calls, vendor).Err(); err != nil {
		return fmt.Errorf("batch %s: spent: %w", id, err)
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
		Pages:      num("pages"),
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
	s.Cancelled = m["cancelled"] == "1"
	if s.InFlight, err = t.InFlight(ctx, id); err != nil {
		return s, err
	}
	if s.Listed, s.Listing, s.Scan, err = t.scanProgress(ctx, id); err != nil {
		return s, err
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
