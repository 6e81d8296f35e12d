package ratelimit

import (
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// The adaptive state of a vendor account is a hash {f: factor, ts: Redis time
// in ms of the last decrease}. The factor in force at time now is
// min(1, f + RecoverPerSecond*(now-ts)), so recovery needs no background job:
// every reader computes it from the same two numbers and Redis's clock.

// throttleScript applies one throttle answer atomically for all workers:
// multiplicative decrease (unless one happened within the cooldown) and a
// "not before" instant that only ever moves later.
//
// KEYS: adapt hash, not-before key.
// ARGV: decrease, min factor, recover per second, cooldown ms, retry-after ms.
// Returns: {factor now (string), 1 if decreased else 0, not-before ms or 0}.
var throttleScript = redis.NewScript(`
redis.replicate_commands()
local decrease = tonumber(ARGV[1])
local minf = tonumber(ARGV[2])
local rec = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])
local ra = tonumber(ARGV[5])

local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local f = tonumber(redis.call("HGET", KEYS[1], "f") or "1")
local ts = tonumber(redis.call("HGET", KEYS[1], "ts") or "0")
local cur = f
if ts > 0 then
  cur = math.min(1, f + rec * (now - ts) / 1000)
end

local decreased = 0
if ts == 0 or now - ts >= cooldown then
  cur = math.max(minf, cur * decrease)
  redis.call("HSET", KEYS[1], "f", tostring(cur), "ts", now)
  -- Forget the state once it has fully recovered.
  redis.call("PEXPIRE", KEYS[1], math.ceil((1 - cur) / rec * 1000) + 1000)
  decreased = 1
end

local nb = 0
if ra > 0 then
  nb = now + ra
  local old = tonumber(redis.call("GET", KEYS[2]) or "0")
  if nb > old then
    redis.call("SET", KEYS[2], nb, "PX", ra)
  else
    nb = old
  end
end
return {tostring(cur), decreased, nb}
`)

// recoveredFactor is the factor in force at nowMs, given the stored factor f
// set at lastMs (0: never decreased). It mirrors the script above.
func recoveredFactor(f float64, lastMs, nowMs int64, perSecond float64) float64 {
	if lastMs == 0 || f <= 0 {
		return 1
	}
	elapsed := math.Max(0, float64(nowMs-lastMs)/1000)
	return math.Min(1, f+perSecond*elapsed)
}

// effectiveBurst shrinks the burst with the rate: right after a throttle a
// full burst would most likely be throttled again.
func effectiveBurst(burst int, factor float64) int {
	return max(1, int(math.Round(float64(burst)*factor)))
}

// grantBurst is the burst the shared GCRA grants: one token of the vendor's
// own bucket stays in reserve. A call reaches the vendor a variable time
// after its grant (connection set-up, scheduling on a busy machine, the body
// streaming from storage), so calls granted 1/rps apart can arrive closer
// together; with the vendor's bucket drained to zero by a full burst, such a
// call is throttled, and every throttle halves the shared rate. The reserve
// absorbs up to 1/rps of that jitter and costs nothing in sustained rate,
// which GCRA sets by the emission interval alone (make bench measured one
// CLOVA 0025 per run and 72% of the limit without it, 0 and ~100% with it).
func grantBurst(burst int) int {
	return max(1, burst-1)
}

// emissionInterval is the time between calls at rps calls per second.
//
// redis_rate's Limit is an integer Rate per Period, but its GCRA script only
// ever uses Period/Rate, the emission interval. Expressing every rate as
// "1 call per 1s/rps" therefore supports any fractional rps exactly (to the
// nanosecond): 0.5 rps => 1 per 2s, 2.5 rps => 1 per 400ms, and a throttled
// 10 rps * 0.37 => 1 per 270.27ms.
func emissionInterval(rps float64) time.Duration {
	return time.Duration(float64(time.Second) / rps)
}
