package notify

import (
	"fmt"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/redisconn"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// The coalescing scripts (two and four keys) and the delivery state run on
// a real Redis Cluster: a key outside its batch's hash tag fails with
// CROSSSLOT here.
func TestKeysWorkOnCluster(t *testing.T) {
	c := testenv.StartRedisCluster(t)
	_, rdb, err := redisconn.Open(redisconn.ModeCluster, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := t.Context()
	now := time.Now()
	for i := range 4 {
		b := fmt.Sprintf("batch-%d", i)
		for j := range 3 {
			kept, err := pushFailure(ctx, rdb, b, fmt.Appendf(nil, `{"source":"s3://in/%d.png","code":"unreadable_image"}`, j), 2)
			if err != nil {
				t.Fatalf("%s: push: %v", b, err)
			}
			if kept != (j < 2) {
				t.Errorf("%s: entry %d kept = %v", b, j, kept)
			}
		}
		got, err := takeFailures(ctx, rdb, b, 7)
		if err != nil {
			t.Fatalf("%s: take: %v", b, err)
		}
		if len(got.Failures) != 2 || got.Dropped != 1 {
			t.Errorf("%s: took %d failures, %d dropped; want 2, 1", b, len(got.Failures), got.Dropped)
		}
		if w, err := waiting(ctx, rdb, b); err != nil || w {
			t.Errorf("%s: waiting = %v, %v", b, w, err)
		}
		if err := doneFailures(ctx, rdb, b, 7); err != nil {
			t.Fatalf("%s: done: %v", b, err)
		}
		d := delivery{Receiver: "hook", Event: EventDocumentFailed, Batch: b}
		if err := record(ctx, rdb, d, "", false, now); err != nil {
			t.Fatalf("%s: record: %v", b, err)
		}
		bd, err := BatchDeliveries(ctx, rdb, b)
		if err != nil || len(bd) != 1 || bd[0].Outcome != StateDelivered {
			t.Errorf("%s: deliveries %v, %v", b, bd, err)
		}
	}
}
