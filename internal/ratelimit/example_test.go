package ratelimit_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/ratelimit"
)

// A handler waits for its turn (bounded), calls the vendor, and tells the
// limiter what the vendor answered, so that every worker process reacts to
// throttling and halts.
func ExampleLimiter() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer rdb.Close()
	// 10 calls a second from all workers together, 8 in flight in this one.
	lim := ratelimit.New(rdb, "example", 10, 10, 8)

	answers := []error{ // what the vendor answers, call by call
		ocrerr.Throttled("0025", 429, 200*time.Millisecond),
		nil,
		&ocrerr.Error{Code: ocrerr.QuotaExhausted, Halt: true},
	}
	for i, answer := range answers {
		wait, cancel := context.WithTimeout(ctx, time.Minute) // bounded wait; ctx ends on shutdown
		release, _, err := lim.Acquire(wait)
		cancel()
		if err != nil {
			fmt.Println("no slot, hand the task back:", err) // halted, waited too long, or Redis failed
			return
		}
		// The vendor call goes here.
		release()

		e, _ := ocrerr.As(answer)
		switch {
		case answer == nil:
			fmt.Printf("call %d: ok\n", i+1)
		case e.Throttle: // every worker slows down and waits out the Retry-After
			lim.Throttled(ctx, e.RetryAfter)
			st, _ := lim.State(ctx)
			fmt.Printf("call %d: throttled: every worker waits %v\n", i+1, st.RetryAfter.Round(100*time.Millisecond))
		case e.Halt: // no worker calls the vendor until the halt ends or `producer resume`
			if err := lim.Halt(ctx, string(e.Code), time.Now().Add(15*time.Minute)); err != nil {
				fmt.Println(err)
				return
			}
			_, halted := lim.Halted(ctx)
			fmt.Printf("call %d: %s: vendor halted %v\n", i+1, e.Code, halted)
		}
	}

	// `producer resume example` lifts the halt for every worker.
	if was, err := ratelimit.NewGate(rdb).Resume(ctx, "example"); err == nil {
		fmt.Println("resumed:", was)
	}
	// Output:
	// call 1: throttled: every worker waits 200ms
	// call 2: ok
	// call 3: quota_exhausted: vendor halted true
	// resumed: true
}
