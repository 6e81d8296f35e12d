package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/result"
	"github.com/ocrbatch/ocrworker/internal/storage"
)

// memSightings remembers first sightings like the Redis one in internal/sightings.
type memSightings struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (m *memSightings) FirstSeen(_ context.Context, id string, now time.Time) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.seen[id]; ok {
		return t, nil
	}
	m.seen[id] = now
	return now, nil
}

// TestUnknownIsHandedBackForTheGrace: during a rolling deploy, a worker
// still on the old config (or build) meets a task for a vendor, a document
// type or a payload version it does not know. It used to write a permanent
// failure at once although a newer worker could read the task; it hands
// the task back (not a failure, no result) for worker.unknownGrace, then
// fails it as before.
func TestUnknownIsHandedBackForTheGrace(t *testing.T) {
	future, _ := json.Marshal(layout.Recognize{V: layout.PayloadVersion + 1, Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Out: "s3://out/f/"})
	vendor, _ := json.Marshal(layout.Recognize{V: layout.PayloadVersion, Source: "s3://in/docs/a.png", Type: result.TypeReceipt, Vendor: "newvendor", Out: "s3://out/v/"})
	route, _ := json.Marshal(layout.Recognize{V: layout.PayloadVersion, Source: "s3://in/docs/a.png", Type: result.TypeCreditCard, Out: "s3://out/t/"})
	newType, _ := json.Marshal(layout.Recognize{V: layout.PayloadVersion, Source: "s3://in/docs/a.png", Type: "boarding-pass", Out: "s3://out/n/"})
	for _, tc := range []struct {
		name    string
		payload []byte
		key     string
		code    string
	}{
		{"payload version", future, "f/docs/a.png.json", "invalid_task"},
		{"vendor", vendor, "v/docs/a.png.json", "unknown_vendor"},
		{"route", route, "t/docs/a.png.json", "unknown_vendor"},
		{"document type", newType, "n/docs/a.png.json", "unknown_document_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
			f.h.Now = func() time.Time { return now }
			f.h.UnknownGrace = 10 * time.Minute
			f.h.Sightings = &memSightings{seen: map[string]time.Time{}}
			task := asynq.NewTask(layout.TypeRecognize, tc.payload)
			for _, after := range []time.Duration{0, time.Minute, 8 * time.Minute} {
				now = now.Add(after)
				err := f.h.ProcessTask(t.Context(), task)
				if err == nil || IsFailure(err) {
					t.Fatalf("within the grace: %v, want a requeue (not a failure)", err)
				}
				if d := RetryDelay(0, err, task); d > 2*time.Minute {
					t.Errorf("handed back for %v", d)
				}
				if _, err := f.store.Bucket("out").Head(t.Context(), tc.key); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("a result was written within the grace: %v", err)
				}
			}
			now = now.Add(time.Minute)
			if err := f.h.ProcessTask(t.Context(), task); err != nil {
				t.Fatalf("after the grace: %v", err)
			}
			if r, _ := f.result(t, tc.key); r.Error == nil || r.Error.Code != tc.code {
				t.Errorf("after the grace: %+v, want %s", r.Error, tc.code)
			}
		})
	}
}
