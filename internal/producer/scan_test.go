package producer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/memory"
	"github.com/ocrbatch/ocrworker/internal/tasks"
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
	h := &ScanHandler{Enqueuer: &Enqueuer{Client: client, Store: failingList{memory.New()}, Config: testCfg(t), Log: zerolog.New(&logs)}}
	task, err := tasks.NewScanTask(tasks.Scan{Source: "s3://inbox/Kim 800101-1234567/", Type: "receipt", Out: "s3://outbox/r/", Queue: "backfill"}, "slot")
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
