package notify

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Task types. Their payloads carry their own version (V).
const (
	TypeDeliver = "ocr:notify"       // one POST to one receiver
	TypeFlush   = "ocr:notify-flush" // one batch's document.failed minute: turns waiting failures into deliveries
)

const payloadVersion = 1

// IsTask reports whether an asynq task type belongs to this package.
func IsTask(taskType string) bool { return taskType == TypeDeliver || taskType == TypeFlush }

// delivery is the payload of TypeDeliver: the body to send and to whom.
// Receiver is an ID: the URL and secret stay in the worker's config.
type delivery struct {
	V        int             `json:"v"`
	Receiver string          `json:"receiver"`
	Event    string          `json:"event"`
	ID       string          `json:"id"`
	Batch    string          `json:"batch,omitempty"`
	Created  int64           `json:"created"` // unix ms: the retry window starts here
	Body     json.RawMessage `json:"body"`
}

// flush is the payload of TypeFlush.
type flush struct {
	V      int    `json:"v"`
	Batch  string `json:"batch"`
	Minute int64  `json:"minute"` // unix seconds / 60
}

func (d delivery) created() time.Time { return time.UnixMilli(d.Created) }

// newDeliveryTask builds the task of one delivery. Its task ID is the
// delivery ID, so the same delivery enqueued twice is one task.
func newDeliveryTask(r Receiver, event, id, batch string, data any, now time.Time, queue string) (*asynq.Task, error) {
	body, err := json.Marshal(Body{ID: id, Event: event, CreatedAt: now.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("notify: %s body: %w", event, err)
	}
	p, err := json.Marshal(delivery{V: payloadVersion, Receiver: r.ID(), Event: event, ID: id, Batch: batch, Created: now.UnixMilli(), Body: body})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeDeliver, p,
		asynq.TaskID("notify-"+id),
		asynq.Queue(queue),
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(AttemptTimeout),
		// A safety net behind the handler's own give-up: asynq fails any
		// attempt after this without calling the handler.
		asynq.Deadline(now.Add(RetryWindow+maxBackoff)),
	), nil
}

func newFlushTask(batch string, minute int64, queue string) (*asynq.Task, error) {
	p, err := json.Marshal(flush{V: payloadVersion, Batch: batch, Minute: minute})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeFlush, p,
		asynq.TaskID(fmt.Sprintf("notify-flush-%s-%d", batch, minute)),
		asynq.Queue(queue),
		asynq.ProcessAt(time.Unix((minute+1)*60, 0)), // the end of the minute
		asynq.MaxRetry(MaxRetry),
		asynq.Timeout(AttemptTimeout),
	), nil
}

func decodeDelivery(b []byte) (delivery, error) {
	var d delivery
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("notify: delivery payload is not valid JSON: %w", err)
	}
	if d.V != payloadVersion || d.Receiver == "" || d.ID == "" || !knownEvent(d.Event) || len(d.Body) == 0 {
		return d, fmt.Errorf("notify: delivery payload v%d for event %q is incomplete or from another version", d.V, d.Event)
	}
	return d, nil
}

func decodeFlush(b []byte) (flush, error) {
	var f flush
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("notify: flush payload is not valid JSON: %w", err)
	}
	if f.V != payloadVersion || f.Batch == "" {
		return f, fmt.Errorf("notify: flush payload v%d is incomplete or from another version", f.V)
	}
	return f, nil
}
