package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// coalesceTTL frees a batch's waiting failures if no flush ever runs (every
// worker gone for two days).
const coalesceTTL = 2 * RetryWindow

// pushScript: KEYS = failed list, dropped counter; ARGV = entry, cap, ttl s.
// Returns 1 when the entry was kept, 0 when the cap dropped it (counted).
var pushScript = redis.NewScript(`
local kept = 0
if redis.call('LLEN', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  kept = 1
else
  redis.call('INCR', KEYS[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return kept
`)

// takeScript: KEYS = failed list, dropped counter, flush list, flush
// dropped; ARGV = ttl s. The first call moves the waiting failures to the
// flush's own keys; a retried flush finds them there and takes nothing new.
// Returns {entries, dropped}.
var takeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 and redis.call('EXISTS', KEYS[4]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('RENAME', KEYS[1], KEYS[3])
    redis.call('EXPIRE', KEYS[3], ARGV[1])
  end
  local d = redis.call('GETDEL', KEYS[2])
  redis.call('SET', KEYS[4], d or '0', 'EX', ARGV[1])
end
return {redis.call('LRANGE', KEYS[3], 0, -1), redis.call('GET', KEYS[4])}
`)

func pushFailure(ctx context.Context, rdb redis.UniversalClient, batch string, entry []byte, limit int) (kept bool, err error) {
	n, err := pushScript.Run(ctx, rdb, []string{failedKey(batch), droppedKey(batch)},
		entry, limit, int(coalesceTTL/time.Second)).Int()
	if err != nil {
		return false, fmt.Errorf("notify: batch %s: queue document.failed: %w", batch, err)
	}
	return n == 1, nil
}

// takeFailures returns what the flush of minute sends.
func takeFailures(ctx context.Context, rdb redis.UniversalClient, batch string, minute int64) (DocumentsFailed, error) {
	list, dropped := flushKeys(batch, minute)
	res, err := takeScript.Run(ctx, rdb, []string{failedKey(batch), droppedKey(batch), list, dropped},
		int(coalesceTTL/time.Second)).Slice()
	if err != nil {
		return DocumentsFailed{}, fmt.Errorf("notify: batch %s: take document.failed entries: %w", batch, err)
	}
	if len(res) != 2 {
		return DocumentsFailed{}, fmt.Errorf("notify: batch %s: take document.failed entries: %d values", batch, len(res))
	}
	out := DocumentsFailed{Batch: batch, Failures: []Failure{}}
	entries, _ := res[0].([]any)
	for _, e := range entries {
		s, _ := e.(string)
		var f Failure
		if err := json.Unmarshal([]byte(s), &f); err != nil {
			return out, fmt.Errorf("notify: batch %s: corrupt document.failed entry: %w", batch, err)
		}
		out.Failures = append(out.Failures, f)
	}
	if s, ok := res[1].(string); ok {
		out.Dropped, _ = strconv.ParseInt(s, 10, 64)
	}
	return out, nil
}

// doneFailures removes a flush's keys once its deliveries are enqueued.
func doneFailures(ctx context.Context, rdb redis.UniversalClient, batch string, minute int64) error {
	list, dropped := flushKeys(batch, minute)
	if err := rdb.Del(ctx, list, dropped).Err(); err != nil {
		return fmt.Errorf("notify: batch %s: %w", batch, err)
	}
	return nil
}

// waiting reports whether failures arrived after a flush took its share (a
// worker whose clock lags stamped them with a minute already flushed).
func waiting(ctx context.Context, rdb redis.UniversalClient, batch string) (bool, error) {
	n, err := rdb.LLen(ctx, failedKey(batch)).Result()
	return n > 0, err
}
