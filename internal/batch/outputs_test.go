package batch

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// A batch records where its results lie and which sources it skipped; an
// export asks which listed sources belong to it.
func TestOutputsAndMembers(t *testing.T) {
	ctx := context.Background()
	tr, _ := newTracker(t)
	const id = "export-1"

	mustNil(t, tr.AddSources(ctx, id, "s3://in/ok.jpg", "s3://in/bad.jpg"))
	mustNil(t, tr.AddOutput(ctx, id, "s3://in/", "s3://out/b/"))
	mustNil(t, tr.AddOutput(ctx, id, "s3://in/", "s3://out/a/"))
	mustNil(t, tr.AddOutput(ctx, id, "s3://in/", "s3://out/a/")) // twice is once
	mustNil(t, tr.AddOutput(ctx, id, "s3://other/", "s3://out/a/"))
	mustNil(t, tr.AddSkipped(ctx, id, 1))
	mustNil(t, tr.AddSkippedSources(ctx, id, []string{"s3://in/skipped.jpg"}))
	mustFinish(t, tr, id, "s3://in/ok.jpg", StatusSucceeded, "")
	mustFinish(t, tr, id, "s3://in/bad.jpg", StatusFailed, "invalid_image")

	outs, err := tr.Outputs(ctx, id)
	mustNil(t, err)
	want := []Output{{"s3://in/", "s3://out/a/"}, {"s3://other/", "s3://out/a/"}, {"s3://in/", "s3://out/b/"}}
	if !reflect.DeepEqual(outs, want) {
		t.Errorf("outputs %v, want %v", outs, want)
	}
	got, err := tr.Members(ctx, id, []string{"s3://in/ok.jpg", "s3://in/bad.jpg", "s3://in/skipped.jpg", "s3://in/other.jpg", "s3://other/ok.jpg"})
	mustNil(t, err)
	// Counted sources are not recorded (their results name the batch,
	// which resultscan checks); skipped ones are.
	if !reflect.DeepEqual(got, []bool{false, false, true, false, false}) {
		t.Errorf("members %v", got)
	}
	// Another batch knows none of them.
	got, err = tr.Members(ctx, "export-2", []string{"s3://in/ok.jpg"})
	mustNil(t, err)
	if !reflect.DeepEqual(got, []bool{false}) {
		t.Errorf("other batch members %v", got)
	}
}

// Past MaxOutputs pairs the batch is marked, and Outputs says so instead of
// returning a partial list (an export would silently miss results).
func TestOutputsCap(t *testing.T) {
	ctx := context.Background()
	tr, rdb := newTracker(t)
	const id = "many-outputs"
	for i := 0; i < MaxOutputs; i++ {
		mustNil(t, tr.AddOutput(ctx, id, "s3://in/", fmt.Sprintf("s3://out/%03d/", i)))
	}
	outs, err := tr.Outputs(ctx, id)
	if err != nil || len(outs) != MaxOutputs {
		t.Fatalf("%d outputs, %v; want %d", len(outs), err, MaxOutputs)
	}
	mustNil(t, tr.AddOutput(ctx, id, "s3://in/", "s3://out/one-more/"))
	if _, err := tr.Outputs(ctx, id); !errors.Is(err, ErrTooManyOutputs) {
		t.Errorf("past the cap: %v, want ErrTooManyOutputs", err)
	}
	if n := rdb.SCard(ctx, outputsKey(id)).Val(); n != MaxOutputs+1 {
		t.Errorf("set holds %d members, want %d (the cap and the marker)", n, MaxOutputs+1)
	}
}

// Recorded after the batch finished (a late listing page), the sets still
// expire with the batch instead of staying forever.
func TestOutputsExpireWithTheBatch(t *testing.T) {
	ctx := context.Background()
	tr, rdb := newTracker(t)
	tr.retention = time.Hour
	const id = "late"
	mustNil(t, tr.AddSkipped(ctx, id, 0))
	if _, err := tr.Seal(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustNil(t, tr.AddOutput(ctx, id, "s3://in/", "s3://out/"))
	mustNil(t, tr.AddSkippedSources(ctx, id, []string{"s3://in/a.jpg"}))
	for _, k := range []string{outputsKey(id), skippedKey(id)} {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("%s: ttl %v, want up to 1h", k, ttl)
		}
	}
}
