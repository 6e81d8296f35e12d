package notify

import (
	"context"

	"github.com/ocrbatch/ocrworker/internal/batch"
)

type queueKey struct{}

// WithQueue names the queue for deliveries of events emitted outside an
// asynq handler (the producer completing a batch on Seal: the queue it
// enqueued the batch to). Inside a handler the handled task's queue wins.
func WithQueue(ctx context.Context, queue string) context.Context {
	if queue == "" {
		return ctx
	}
	return context.WithValue(ctx, queueKey{}, queue)
}

func queueFromValue(ctx context.Context) (string, bool) {
	q, ok := ctx.Value(queueKey{}).(string)
	return q, ok && q != ""
}

// SummaryOf is the batch.completed data of a batch's final counts.
func SummaryOf(s batch.Status) BatchSummary {
	return BatchSummary{Batch: s.ID, Total: s.Total, Succeeded: s.Succeeded, Failed: s.Failed, Skipped: s.Skipped,
		StartedAt: s.StartedAt.UTC(), FinishedAt: s.FinishedAt.UTC()}
}
