package batch

// Where a batch's results are, so `producer export BATCH` can find them
// without the batch storing a list of its sources:
//
//	ocr:batch:{ID}:outputs  set: {"src":"s3://in/","out":"s3://out/p/"}, one per
//	                        (source root, output prefix) pair the batch wrote to,
//	                        at most MaxOutputs (then the member "overflow")
//	ocr:batch:{ID}:skipped  set: sourceField of each source the producer skipped
//	                        (its result was current already), at most MaxSkipped
//	                        (then the member "overflow")
//
// A result belongs to the batch when it names the batch (its "batch" field:
// the batch's run wrote it; resultscan reads it), or its source is in the
// skipped set, or, for a batch started before fmt 2, in the sources hash.
// Both keys are among keys(id), so they expire, persist and are deleted with
// the batch.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/redis/go-redis/v9"
)

// MaxOutputs caps the (source root, output prefix) pairs one batch records.
// A batch that writes to more cannot be exported by its ID; each output is
// still exported with `producer export --prefix`.
const MaxOutputs = 100

// MaxSkipped caps the skipped sources one batch records for export (about
// 60 bytes each in Redis). An export of a batch that skipped more misses the
// results of those past the cap (it says so): export their output with
// `producer export --prefix`.
const MaxSkipped = 100000

// overflowMember marks a set that reached its cap.
const overflowMember = "overflow"

// ErrTooManyOutputs is returned by Outputs for a batch that wrote to more
// than MaxOutputs output locations.
var ErrTooManyOutputs = fmt.Errorf("the batch wrote to more than %d output locations", MaxOutputs)

// Output is one place a batch's results lie: the results of sources under
// Source (a URI up to its key: "s3://in/", "file:///") are under Out.
type Output struct {
	Source string `json:"src"`
	Out    string `json:"out"`
}

func outputsKey(id string) string { return keys(id)[3] }
func skippedKey(id string) string { return keys(id)[4] }

// addMembersScript: KEYS = meta, set; ARGV = cap (0: none), members... Adds
// members to the set, or the overflow marker once the cap is reached, and
// gives the set the batch's expiry (a done batch re-run by a new enqueue is
// reopened by Register, which persists every key).
var addMembersScript = redis.NewScript(`
local cap = tonumber(ARGV[1])
for i = 2, #ARGV do
  if cap == 0 or redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 1 or redis.call('SCARD', KEYS[2]) < cap then
    redis.call('SADD', KEYS[2], ARGV[i])
  else
    redis.call('SADD', KEYS[2], '` + overflowMember + `')
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 0
`)

// AddOutput records that batch id writes the results of sources under
// sourceRoot to the output prefix out. Recording a pair twice is harmless.
func (t *Tracker) AddOutput(ctx context.Context, id, sourceRoot, out string) error {
	if err := layout.CheckBatchID(id); err != nil {
		return err
	}
	m, err := json.Marshal(Output{Source: sourceRoot, Out: out})
	if err != nil {
		return err
	}
	if err := addMembersScript.Run(ctx, t.rdb, []string{keys(id)[0], outputsKey(id)}, MaxOutputs, string(m)).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("batch %s: record output: %w", id, err)
	}
	return nil
}

// AddSkippedSources records sources the producer skipped in batch id (their
// result is current), so an export of the batch includes their results.
// Only a hash of each URI is stored, as in the sources hash.
func (t *Tracker) AddSkippedSources(ctx context.Context, id string, sources []string) error {
	if err := layout.CheckBatchID(id); err != nil {
		return err
	}
	if len(sources) == 0 {
		return nil
	}
	args := make([]any, 0, len(sources)+1)
	args = append(args, MaxSkipped)
	for _, s := range sources {
		args = append(args, sourceField(s))
	}
	if err := addMembersScript.Run(ctx, t.rdb, []string{keys(id)[0], skippedKey(id)}, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("batch %s: record skipped sources: %w", id, err)
	}
	return nil
}

// Outputs lists where batch id's results lie, sorted by output then source
// root. It returns ErrTooManyOutputs if the batch outgrew MaxOutputs.
func (t *Tracker) Outputs(ctx context.Context, id string) ([]Output, error) {
	if err := layout.CheckBatchID(id); err != nil {
		return nil, err
	}
	ms, err := t.rdb.SMembers(ctx, outputsKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("batch %s: outputs: %w", id, err)
	}
	out := make([]Output, 0, len(ms))
	for _, m := range ms {
		if m == overflowMember {
			return nil, fmt.Errorf("batch %s: %w", id, ErrTooManyOutputs)
		}
		var o Output
		if err := json.Unmarshal([]byte(m), &o); err != nil {
			return nil, fmt.Errorf("batch %s: corrupt output entry: %w", id, err)
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Out != out[j].Out {
			return out[i].Out < out[j].Out
		}
		return out[i].Source < out[j].Source
	})
	return out, nil
}

// membersScript: KEYS = sources, skipped; ARGV = fields. Returns 1 or 0 per
// field: the source has an outcome in the batch or was skipped by it.
var membersScript = redis.NewScript(`
local out = {}
for i = 1, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 or redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 1 then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`)

// Members reports, for each source URI, whether it belongs to batch id
// whatever its result says: the producer skipped it there, or (a batch
// started before fmt 2) a worker counted its outcome there. A result that
// names the batch belongs to it too (resultscan checks). One round trip for
// all of them; callers pass a page at a time.
func (t *Tracker) Members(ctx context.Context, id string, sources []string) ([]bool, error) {
	if err := layout.CheckBatchID(id); err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, nil
	}
	fields := make([]any, len(sources))
	for i, s := range sources {
		fields[i] = sourceField(s)
	}
	ks := keys(id)
	res, err := membersScript.Run(ctx, t.rdb, []string{ks[1], skippedKey(id)}, fields...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("batch %s: members: %w", id, err)
	}
	if len(res) != len(sources) {
		return nil, fmt.Errorf("batch %s: members: %d answers for %d sources", id, len(res), len(sources))
	}
	out := make([]bool, len(res))
	for i, n := range res {
		out[i] = n == 1
	}
	return out, nil
}

// SkippedComplete reports whether every source batch id skipped is
// recorded (false: more than MaxSkipped were).
func (t *Tracker) SkippedComplete(ctx context.Context, id string) (bool, error) {
	if err := layout.CheckBatchID(id); err != nil {
		return false, err
	}
	over, err := t.rdb.SIsMember(ctx, skippedKey(id), overflowMember).Result()
	if err != nil {
		return false, fmt.Errorf("batch %s: skipped: %w", id, err)
	}
	return !over, nil
}
