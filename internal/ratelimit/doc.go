// Package ratelimit decides when a worker may call a vendor account. Every
// decision is shared through Redis, so any number of worker processes on any
// number of machines together respect one account's limits:
//
//   - a GCRA rate limit (rps, burst) per vendor account, via
//     github.com/go-redis/redis_rate (one atomic Lua script per attempt);
//   - a per-process concurrency cap (a local semaphore);
//   - adaptive throttling: when the vendor throttles us anyway, [Limiter.Throttled]
//     lowers the shared rate (multiplicative decrease), blocks every process
//     until the vendor's Retry-After has passed, and the rate recovers
//     additively with time, computed from a stored timestamp so that no
//     background goroutine is needed;
//   - a vendor halt ([Gate]): quota used up or credentials rejected stops
//     every worker from calling the vendor until a producer command resumes it
//     or the configured auto-resume time passes.
//
// A task waits in [Limiter.Acquire] for its slot, bounded by its context,
// instead of being bounced through asynq's retry set: asynq's own rate-limit
// recipe (a per-process limiter plus a RateLimitError retried after a delay)
// is per process only, and every bounced task is re-polled from the retry set
// and competes again, which wastes the limit and the task's retry budget.
//
// All times that several machines compare (the "not before" instant, the time
// of the last decrease, GCRA's arrival times) come from Redis's own clock
// (TIME), so clock skew between workers does not matter.
package ratelimit
