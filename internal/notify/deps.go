package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// DefaultMaxFailuresPerDelivery caps one document.failed delivery (and the
// Redis list behind it): a batch failing faster than that per minute sends
// the first ones and counts the rest as dropped.
const DefaultMaxFailuresPerDelivery = 200

// defaultQueue is used when an event is emitted outside an asynq handler.
const defaultQueue = "default"

// Deps is what an Emitter and a Handler share. Receivers, Client and Redis
// are required; the rest have defaults.
type Deps struct {
	Receivers []Receiver            // the config's notify: list, already validated
	Client    *asynq.Client         // enqueues delivery and flush tasks
	Redis     redis.UniversalClient // coalescing lists and delivery state
	Metrics   *Metrics              // nil: no metrics
	// RootCAs are the CAs trusted for https receivers; nil: the system pool.
	RootCAs *x509.CertPool
	// MaxFailuresPerDelivery; 0: DefaultMaxFailuresPerDelivery.
	MaxFailuresPerDelivery int
	// Now is the clock of events (minute buckets, the retry window); nil:
	// time.Now. Signatures always use the real time.
	Now func() time.Time
}

func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxFailuresPerDelivery <= 0 {
		d.MaxFailuresPerDelivery = DefaultMaxFailuresPerDelivery
	}
	return d
}

// subscribers lists the receivers of an event.
func (d Deps) subscribers(event string) []Receiver {
	var out []Receiver
	for _, r := range d.Receivers {
		if r.Wants(event) {
			out = append(out, r)
		}
	}
	return out
}

// queueOf is the queue of the task being handled in ctx, so a notification
// goes where the work that caused it went.
func queueOf(ctx context.Context) string {
	if q, ok := asynq.GetQueueName(ctx); ok && q != "" {
		return q
	}
	if q, ok := queueFromValue(ctx); ok {
		return q
	}
	return defaultQueue
}

// enqueue adds t; a task with the same ID already queued is success (the
// same delivery, or the same minute's flush).
func (d Deps) enqueue(ctx context.Context, t *asynq.Task) error {
	_, err := d.Client.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// idSpace makes delivery IDs derived from their content: the same event for
// the same receiver always gets the same ID, so a retried emitter enqueues
// one task and a receiver can de-duplicate.
var idSpace = uuid.MustParse("5b0b3c1e-8f5e-4d59-9a57-3f0c6a1e2d4b")

func deliveryID(parts ...string) string {
	return uuid.NewSHA1(idSpace, []byte(strings.Join(parts, "\x00"))).String()
}
