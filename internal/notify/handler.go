package notify

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
)

// Handler processes the package's tasks in the worker: deliveries
// (TypeDeliver) and the per-minute document.failed flushes (TypeFlush).
type Handler struct {
	d      Deps
	client *http.Client
	byID   map[string]Receiver
}

// NewHandler returns the Handler on d. The worker registers it with
// Register and uses WrapRetryDelay for its RetryDelayFunc.
func NewHandler(d Deps) *Handler {
	d = d.withDefaults()
	h := &Handler{d: d, client: newHTTPClient(d.RootCAs), byID: map[string]Receiver{}}
	for _, r := range d.Receivers {
		h.byID[r.ID()] = r
	}
	return h
}

// Register adds the Handler for both task types to mux.
func (h *Handler) Register(mux *asynq.ServeMux) {
	mux.Handle(TypeDeliver, h)
	mux.Handle(TypeFlush, h)
}

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	switch t.Type() {
	case TypeDeliver:
		return h.deliver(ctx, t)
	case TypeFlush:
		return h.flush(ctx, t)
	}
	return fmt.Errorf("notify: task type %q: %w", t.Type(), asynq.SkipRetry)
}

// stateTimeout bounds the state write after an attempt.
const stateTimeout = 5 * time.Second

// attemptError is a failed delivery attempt. Its text is what asynq keeps
// as the task's last error: the receiver's ID and a code, never the URL.
type attemptError struct{ receiver, event, code string }

func (e *attemptError) Error() string {
	return fmt.Sprintf("webhook %s to receiver %s: %s", e.event, e.receiver, e.code)
}

func (h *Handler) deliver(ctx context.Context, t *asynq.Task) error {
	d, err := decodeDelivery(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log := zerolog.Ctx(ctx).With().Str("event", d.Event).Str("receiver", d.Receiver).Str("delivery", d.ID).Logger()
	r, ok := h.byID[d.Receiver]
	if !ok || !r.Wants(d.Event) {
		// The config changed since the event: nobody to send it to.
		log.Warn().Msg("webhook discarded: receiver or event no longer configured")
		h.d.Metrics.ended(d.Event, outcomeDiscarded)
		return nil
	}
	now := h.d.Now()
	code := send(ctx, h.client, r, d, time.Now()) // signed with the real clock: receivers check it against theirs
	h.d.Metrics.attempt(d.Event, code)
	final := code != "" && (code == codeRefused || now.Sub(d.created()) >= RetryWindow || lastTry(ctx))
	// The attempt may have used up ctx (a timeout); the state is still written.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	if err := record(rctx, h.d.Redis, d, code, final, now); err != nil {
		// The state is a report; a delivered body must not be sent again for it.
		log.Warn().Err(err).Msg("webhook state not recorded")
	}
	switch {
	case code == "":
		h.d.Metrics.ended(d.Event, outcomeDelivered)
		log.Debug().Msg("webhook delivered")
		return nil
	case final:
		h.d.Metrics.ended(d.Event, outcomeGaveUp)
		log.Error().Str("code", code).Msg("webhook given up")
		return fmt.Errorf("%w (given up): %w", &attemptError{d.Receiver, d.Event, code}, asynq.SkipRetry)
	default:
		log.Info().Str("code", code).Msg("webhook attempt failed; will retry")
		return &attemptError{d.Receiver, d.Event, code}
	}
}

// lastTry reports whether asynq will not retry this task again.
func lastTry(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	maxRetry, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= maxRetry
}

// flush sends a batch's document.failed minute: one delivery per
// subscribed receiver listing what failed since the previous flush.
func (h *Handler) flush(ctx context.Context, t *asynq.Task) error {
	f, err := decodeFlush(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	data, err := takeFailures(ctx, h.d.Redis, f.Batch, f.Minute)
	if err != nil {
		return err
	}
	if len(data.Failures) > 0 || data.Dropped > 0 {
		minute := strconv.FormatInt(f.Minute, 10)
		for _, r := range h.d.subscribers(EventDocumentFailed) {
			id := deliveryID(EventDocumentFailed, f.Batch, minute, r.ID())
			task, err := newDeliveryTask(r, EventDocumentFailed, id, f.Batch, data, h.d.Now(), queueOf(ctx))
			if err != nil {
				return err
			}
			if err := h.d.enqueue(ctx, task); err != nil {
				return fmt.Errorf("notify: enqueue document.failed of batch %s for receiver %s: %w", f.Batch, r.ID(), err)
			}
		}
	}
	if err := h.rescheduleStragglers(ctx, f); err != nil {
		return err
	}
	return doneFailures(ctx, h.d.Redis, f.Batch, f.Minute)
}

// rescheduleStragglers makes sure failures that arrived after this flush
// took its share get a flush of their own.
func (h *Handler) rescheduleStragglers(ctx context.Context, f flush) error {
	more, err := waiting(ctx, h.d.Redis, f.Batch)
	if err != nil || !more {
		return err
	}
	next := max(h.d.Now().Unix()/60, f.Minute+1)
	t, err := newFlushTask(f.Batch, next, queueOf(ctx))
	if err != nil {
		return err
	}
	return h.d.enqueue(ctx, t)
}
