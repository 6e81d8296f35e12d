package layout

import (
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// Payload bytes, task types, task IDs and the hand-back header are a wire
// format: in a rolling deploy old and new workers and producers share one
// queue, so none may change by accident. Every value below was taken from
// the code before the payloads moved packages (issue 11). The IDs are read
// back from Redis, so they are the ones asynq really stores.
func TestPayloadGolden(t *testing.T) {
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: testenv.StartRedis(t).Addr})
	defer client.Close()
	enqueue := func(name string, task *asynq.Task, err error) (string, []byte) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info, err := client.EnqueueContext(t.Context(), task)
		if err != nil {
			t.Fatalf("%s: enqueue: %v", name, err)
		}
		return info.ID, info.Payload
	}
	for _, c := range []struct {
		name        string
		p           Recognize
		payload, id string
	}{
		{"minimal", Recognize{Source: "s3://in/docs/a.png", Type: "receipt", Out: "s3://out/r/"},
			`{"v":1,"source":"s3://in/docs/a.png","type":"receipt","out":"s3://out/r/"}`,
			"ocr-1a6f10641f4c66e8ff2cc2fbaacd8c83"},
		{"out without slash", Recognize{Source: "s3://in/docs/b.png", Type: "receipt", Out: "s3://out/r"},
			`{"v":1,"source":"s3://in/docs/b.png","type":"receipt","out":"s3://out/r"}`,
			"ocr-7b09c55ad538b88dbe2e41cceae540dd"},
		{"every field", Recognize{Source: "s3://in/card.jpg", Face: "s3://in/face.jpg", Type: "face-compare", Vendor: "ekyc",
			Out: "s3://out/", Batch: "b-1", Verify: true, Force: true, PII: true},
			`{"v":1,"source":"s3://in/card.jpg","face":"s3://in/face.jpg","type":"face-compare","vendor":"ekyc","out":"s3://out/","batch":"b-1","verify":true,"force":true,"pii":true}`,
			"ocr-630c88cc545ea92a2e404312dd725f08"},
		{"id-card at nhn", Recognize{Source: "s3://in/k/id 1.jpg", Type: "id-card", Vendor: "nhn", Out: "s3://out/p/q/", Batch: "20261124-010203-9f2c1a"},
			`{"v":1,"source":"s3://in/k/id 1.jpg","type":"id-card","vendor":"nhn","out":"s3://out/p/q/","batch":"20261124-010203-9f2c1a"}`,
			"ocr-7026a85eb486324ade62a976fa1e06c1"},
	} {
		task, err := NewRecognizeTask(c.p)
		id, payload := enqueue(c.name, task, err)
		if task.Type() != "ocr:recognize" || string(payload) != c.payload || id != c.id {
			t.Errorf("%s: type %s payload %s id %s\nwant type ocr:recognize payload %s id %s", c.name, task.Type(), payload, id, c.payload, c.id)
		}
		if got := c.p.TaskID(); got != c.id {
			t.Errorf("%s: TaskID %s, want %s", c.name, got, c.id)
		}
		if got, want := HandBackID(c.id), c.id+"-again"; got != want {
			t.Errorf("%s: hand-back ID %s, want %s", c.name, got, want)
		}
	}

	scan, err := NewScanTask(Scan{Source: "s3://in/docs/", Type: "receipt", Vendor: "clova", Out: "s3://out/r/", Queue: "backfill",
		Batch: "nightly-20261202T0200"}, "2026-12-02T02:00:00Z")
	id, payload := enqueue("scan", scan, err)
	const (
		scanPayload = `{"v":1,"source":"s3://in/docs/","type":"receipt","vendor":"clova","out":"s3://out/r/","queue":"backfill","batch":"nightly-20261202T0200"}`
		scanID      = "scan-8a522a18b3de814def3cb946e9404da0"
	)
	if scan.Type() != "ocr:scan" || string(payload) != scanPayload || id != scanID {
		t.Errorf("scan: type %s payload %s id %s\nwant type ocr:scan payload %s id %s", scan.Type(), payload, id, scanPayload, scanID)
	}

	// The scan ID hashes the output as written (not as OutPrefix reads it).
	scan, err = NewScanTask(Scan{Source: "s3://in/docs/", Type: "receipt", Out: "s3://out/r", Queue: "default"}, "2026-12-02T03:00:00Z")
	if id, _ := enqueue("scan 2", scan, err); id != "scan-65e99f63d44fd9b6b748d4e98a14421a" {
		t.Errorf("scan 2: id %s", id)
	}

	// A handed-back task carries its failed tries in this header; an older
	// worker reads it, so its name and format are part of the wire format.
	back := asynq.NewTaskWithHeaders(TypeRecognize, nil, map[string]string{"ocr-failures": "3"})
	if n := CarriedFailures(back); n != 3 || failuresHeader != "ocr-failures" {
		t.Errorf("hand-back header %q carries %d, want ocr-failures carrying 3", failuresHeader, n)
	}
	if RetryCeiling != 100 {
		t.Errorf("RetryCeiling %d, want 100 (the asynq MaxRetry older workers expect)", RetryCeiling)
	}
}
