package notify

import (
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

func TestRetriesSpanTheRetryWindow(t *testing.T) {
	var total, withJitter time.Duration
	for n := range MaxRetry {
		total += backoff(n)
		withJitter += RetryDelay(n, errors.New("x"), nil)
	}
	if total < RetryWindow || total > RetryWindow+maxBackoff {
		t.Errorf("%d retries wait %s in all, want between %s and %s", MaxRetry, total, RetryWindow, RetryWindow+maxBackoff)
	}
	if shorter := total - backoff(MaxRetry-1); shorter >= RetryWindow {
		t.Errorf("%d retries would already span %s: MaxRetry is one too many", MaxRetry-1, shorter)
	}
	if withJitter < total || withJitter > total+total/10+time.Duration(MaxRetry) {
		t.Errorf("with jitter %s, without %s", withJitter, total)
	}
	if backoff(0) != firstRetry || backoff(1) != 2*firstRetry || backoff(40) != maxBackoff {
		t.Errorf("backoff(0,1,40) = %s %s %s", backoff(0), backoff(1), backoff(40))
	}
}

func TestWrapRetryDelayRoutesByTaskType(t *testing.T) {
	other := func(int, error, *asynq.Task) time.Duration { return 42 * time.Millisecond }
	f := WrapRetryDelay(other)
	if d := f(0, nil, asynq.NewTask("ocr:recognize", nil)); d != 42*time.Millisecond {
		t.Errorf("recognize: %s", d)
	}
	for _, typ := range []string{TypeDeliver, TypeFlush} {
		if d := f(3, nil, asynq.NewTask(typ, nil)); d < backoff(3) || d > backoff(3)*11/10 {
			t.Errorf("%s: %s, want about %s", typ, d, backoff(3))
		}
	}
}
