package batch

// Failures spill to storage: Redis holds at most SpillAt of a batch's failed
// sources at once. Past that, the worker that counted a failure moves them
// into one object under the output prefix (layout.FailuresKey) and records
// where in the spills set (one member per SpillAt failures); the summary
// lists the spilled ones with those still in Redis.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// SpillAt is how many failures a batch keeps in Redis before they move to storage.
const SpillAt = 1000

// takeScript: ARGV = at. When the failures hash holds at least at entries,
// takes them all and returns the spill's number then field, value pairs.
var takeScript = redis.NewScript(`
local meta, failures = KEYS[1], KEYS[3]
if redis.call('HLEN', failures) < tonumber(ARGV[1]) then
  return {}
end
local kv = redis.call('HGETALL', failures)
redis.call('DEL', failures)
local n = redis.call('HINCRBY', meta, 'spills', 1)
table.insert(kv, 1, tostring(n))
return kv
`)

// restoreScript puts taken failures back (their spill could not be
// written); a newer entry of the same source wins.
var restoreScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
  redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i+1])
end
return 0
`)

// SpillFailures moves batch id's failures to out (under the output prefix
// outKey) once Redis holds SpillAt of them; otherwise it does nothing. The
// worker calls it after counting a failure.
func (t *Tracker) SpillFailures(ctx context.Context, out storage.Bucket, outKey, id string) error {
	if err := layout.CheckBatchID(id); err != nil {
		return err
	}
	ks := keys(id)
	kv, err := takeScript.Run(ctx, t.rdb, ks, t.spillAt()).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("batch %s: spill: %w", id, err)
	}
	if len(kv) < 3 {
		return nil
	}
	n, pairs := kv[0], kv[1:]
	var buf bytes.Buffer
	for i := 1; i < len(pairs); i += 2 {
		buf.WriteString(pairs[i])
		buf.WriteByte('\n')
	}
	key := layout.FailuresKey(outKey, id, n)
	_, err = out.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), storage.PutOptions{ContentType: "application/x-ndjson"})
	if err == nil {
		err = t.rdb.SAdd(ctx, ks[kSpills], out.Name()+"\x00"+key).Err()
		if err == nil {
			// The spills set takes the batch's expiry like its other keys.
			if ttl, terr := t.rdb.PTTL(ctx, ks[kMeta]).Result(); terr == nil && ttl > 0 {
				t.rdb.PExpire(ctx, ks[kSpills], ttl)
			}
			return nil
		}
	}
	args := make([]any, len(pairs))
	for i, p := range pairs {
		args[i] = p
	}
	if rerr := restoreScript.Run(ctx, t.rdb, ks, args...).Err(); rerr != nil && !errors.Is(rerr, redis.Nil) {
		return fmt.Errorf("batch %s: spill failed (%v) and its failures were not put back: %w", id, err, rerr)
	}
	return fmt.Errorf("batch %s: spill: %w", id, err)
}

func (t *Tracker) spillAt() int {
	if t.spill > 0 {
		return t.spill
	}
	return SpillAt
}

// spilledFailures reads every spilled failure of batch id: from out when
// the spill lies in that bucket, else from the tracker's store (WithStore).
func (t *Tracker) spilledFailures(ctx context.Context, out storage.Bucket, id string) ([]Failure, error) {
	ms, err := t.rdb.SMembers(ctx, keys(id)[kSpills]).Result()
	if err != nil {
		return nil, fmt.Errorf("batch %s: spills: %w", id, err)
	}
	var fs []Failure
	for _, m := range ms {
		bucket, key, _ := strings.Cut(m, "\x00")
		b := out
		if out == nil || out.Name() != bucket {
			if t.store == nil {
				return nil, fmt.Errorf("batch %s: failures spilled to bucket %q, which this process cannot read", id, bucket)
			}
			b = t.store.Bucket(bucket)
		}
		rc, _, err := b.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("batch %s: read spilled failures: %w", id, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("batch %s: read spilled failures: %w", id, err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var f Failure
			if err := json.Unmarshal(line, &f); err != nil {
				return nil, fmt.Errorf("batch %s: corrupt spilled failure: %w", id, err)
			}
			fs = append(fs, f)
		}
	}
	return fs, nil
}
