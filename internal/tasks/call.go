package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/ocrerr"
	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// throttleRetries bounds how often one task run retries a throttled call
// itself before handing the task back to the queue.
const throttleRetries = 5

// call passes the vendor's gate and makes the call. A throttled call slows
// every worker down (the gate) and is retried here, after the gate's wait,
// rather than through asynq's retry set whose polling would waste the
// limit; halts and long waits become requeues that cost the task nothing.
func (h *Handler) call(ctx context.Context, j *job, req *vendors.Request) (*vendors.Response, error) {
	v := j.vendor
	gate := v.Gate
	if gate == nil {
		gate = openGate{}
	}
	for try := 0; ; try++ {
		resp, err := h.callOnce(ctx, j, gate, req)
		e, ok := ocrerr.As(err)
		if ok {
			// A vendor's Retry-After of a year must not park the task (or,
			// through the gate, every worker) for a year.
			e.RetryAfter = min(e.RetryAfter, h.maxRetryAfter())
		}
		if !ok || !e.Throttle {
			return resp, err
		}
		gate.Throttled(ctx, e.RetryAfter)
		if try >= throttleRetries {
			return nil, &requeue{after: max(e.RetryAfter, time.Second), reason: "vendor throttled"}
		}
		j.log.Debug().Str("vendor", v.Name).Dur("retryAfter", e.RetryAfter).Msg("vendor throttled: retrying after the shared wait")
	}
}

// callOnce is one gated vendor call.
func (h *Handler) callOnce(ctx context.Context, j *job, gate Gate, req *vendors.Request) (*vendors.Response, error) {
	v := j.vendor
	wctx, cancel := context.WithTimeout(ctx, h.rateWait())
	done, waited, err := gate.Acquire(wctx)
	cancel()
	if waited > time.Second {
		j.log.Debug().Dur("waited", waited).Str("vendor", v.Name).Msg("waited for a vendor slot")
	}
	if e, ok := ocrerr.As(err); ok && e.Halt {
		return nil, h.haltVendor(ctx, j, gate, e) // the budget is used up
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // shutting down: asynq hands the task back
		}
		return nil, &requeue{after: time.Second, reason: "no vendor slot: " + err.Error()}
	}
	start := time.Now()
	j.calls++
	resp, err := v.Client.Recognize(ctx, req)
	var e *ocrerr.Error
	if err != nil {
		e = ocrerr.Classify(err)
	}
	done(outcome(e)) // first: it frees the call's slots
	endpoint := req.DocumentType
	if resp != nil {
		endpoint = resp.Endpoint
	}
	if err == nil {
		h.metrics().VendorCall(v.Name, endpoint, "ok", time.Since(start))
		return resp, nil
	}
	h.metrics().VendorCall(v.Name, endpoint, string(e.Code), time.Since(start))
	if e.Halt {
		return nil, h.haltVendor(ctx, j, gate, e)
	}
	return nil, e
}

// outcome is a call's classified error as an error: nil stays nil (a nil
// *ocrerr.Error in an error interface would not be nil).
func outcome(e *ocrerr.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// haltVendor halts the vendor for every worker (quota or budget used up,
// credentials rejected) and hands the task back to wait for the end of the
// halt: until now + the error's RetryAfter (a budget's next period), else
// the vendor's haltFor.
func (h *Handler) haltVendor(ctx context.Context, j *job, gate Gate, e *ocrerr.Error) error {
	v := j.vendor
	wait := v.HaltFor
	if e.Code == ocrerr.BudgetExhausted && e.RetryAfter > 0 {
		wait = e.RetryAfter
	}
	until := time.Now().Add(wait)
	j.log.Error().Str("vendor", v.Name).Str("code", string(e.Code)).Str("vendorCode", e.VendorCode).
		Time("until", until).Msg("vendor halted for every worker: resume with 'producer resume " + v.Name + "'")
	if herr := gate.Halt(ctx, string(e.Code), until); herr != nil {
		j.log.Error().Err(herr).Msg("could not record vendor halt")
	}
	return &requeue{after: min(wait, v.HaltFor), reason: "vendor halted: " + string(e.Code)}
}

// haltedRequeue hands the task back until the vendor's halt ends, without
// touching storage or counting a failure. `producer resume` runs waiting
// tasks at once, so the long delay does not outlast the halt.
func (h *Handler) haltedRequeue(ctx context.Context, v *Vendor) error {
	if v.Gate == nil {
		return nil
	}
	until, halted := v.Gate.Halted(ctx)
	if !halted {
		return nil
	}
	wait := v.HaltFor
	if !until.IsZero() {
		wait = min(time.Until(until), wait)
	}
	return &requeue{after: max(wait, time.Second), reason: "vendor " + v.Name + " is halted"}
}

// RunWaiting runs now every task waiting in asynq's retry set, in every
// queue, and reports how many: after `producer resume`, the tasks that met
// the halt (haltedRequeue) must not wait out its full length. Tasks
// retrying for other reasons just retry early.
func RunWaiting(insp *asynq.Inspector) (int, error) {
	queues, err := insp.Queues()
	if err != nil {
		return 0, err
	}
	var woken int
	for _, q := range queues {
		n, err := insp.RunAllRetryTasks(q)
		if err != nil {
			return woken, fmt.Errorf("queue %s: %w", q, err)
		}
		woken += n
	}
	return woken, nil
}

func (h *Handler) maxRetryAfter() time.Duration {
	if h.MaxRetryAfter <= 0 {
		return 5 * time.Minute
	}
	return h.MaxRetryAfter
}

func (h *Handler) rateWait() time.Duration {
	if h.RateWait <= 0 {
		return time.Minute
	}
	return h.RateWait
}
