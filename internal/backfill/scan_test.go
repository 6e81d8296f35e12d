package backfill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/layout"
	"github.com/ocrbatch/ocrworker/internal/producer"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
)

// failingList is a store whose listing fails the way S3's does: quoting
// the prefix.
type failingList struct{ storage.Store }

func (f failingList) Bucket(name string) storage.Bucket {
	return failingBucket{f.Store.Bucket(name), name}
}

type failingBucket struct {
	storage.Bucket
	name string
}

func (b failingBucket) List(_ context.Context, prefix, _ string, _ func(storage.ObjectInfo) error) error {
	return fmt.Errorf("s3 list s3://%s/%s: %w", b.name, prefix, io.ErrUnexpectedEOF)
}

// A failed scan's error goes to the worker's log and asynq's last error:
// it names no part of the prefix (prefixes hold names too).
func TestScanErrorNamesNoKey(t *testing.T) {
	opt := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	var logs bytes.Buffer
	h := &Handler{Enqueuer: &producer.Enqueuer{Client: client, Store: failingList{memory.New()}, Config: testCfg(t), Log: zerolog.New(&logs)}}
	task, err := layout.NewScanTask(layout.Scan{Source: "s3://inbox/Kim 800101-1234567/", Type: "receipt", Out: "s3://outbox/r/", Queue: "backfill"}, "slot")
	if err != nil {
		t.Fatal(err)
	}
	err = h.ProcessTask(context.Background(), task)
	if err == nil {
		t.Fatal("a failing listing succeeded")
	}
	for _, leak := range []string{"Kim", "800101", "1234567"} {
		if strings.Contains(err.Error(), leak) || strings.Contains(logs.String(), leak) {
			t.Errorf("error %q / log %q holds %q", err, logs.String(), leak)
		}
	}
	if !strings.Contains(err.Error(), "inbox") {
		t.Errorf("error %q lost the bucket", err)
	}
}

// A scan task runs the producer's enqueue over its prefix and logs what it did.
func TestScanEnqueuesThePrefix(t *testing.T) {
	opt := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	mem := memory.New()
	for _, k := range []string{"backlog/a.png", "backlog/b.png"} {
		if _, err := mem.Bucket("inbox").Put(t.Context(), k, strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	h := &Handler{Enqueuer: &producer.Enqueuer{Client: client, Store: mem, Config: testCfg(t), Log: zerolog.New(&logs)}}
	task, err := layout.NewScanTask(layout.Scan{Source: "s3://inbox/backlog/", Type: "receipt", Out: "s3://outbox/r/", Queue: "backfill"}, "slot")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ProcessTask(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `"enqueued":2,"skipped":0`) || !strings.Contains(logs.String(), "backfill scan done") {
		t.Errorf("log %s, want the scan's counts", logs.String())
	}
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	if qi, err := insp.GetQueueInfo("backfill"); err != nil || qi.Pending != 2 {
		t.Errorf("backfill queue %+v %v, want 2 pending", qi, err)
	}
}

// A scan whose batch no batch can have is archived, enqueueing nothing.
func TestScanWithABadBatchIsArchived(t *testing.T) {
	h := &Handler{Enqueuer: &producer.Enqueuer{Store: memory.New(), Config: testCfg(t), Log: zerolog.Nop()}}
	task := asynq.NewTask(layout.TypeScan, []byte(`{"v":1,"source":"s3://inbox/backlog/","type":"receipt","out":"s3://outbox/r/","queue":"backfill","batch":"nightly receipts"}`))
	if err := h.ProcessTask(t.Context(), task); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("err %v, want SkipRetry", err)
	}
}
