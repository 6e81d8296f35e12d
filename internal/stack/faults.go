package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ocrbatch/ocrworker/internal/emulator"
	"github.com/ocrbatch/ocrworker/internal/redisconn"
)

// Helpers for fault tests: read and steer the emulator, look into asynq's
// queues, wait for conditions. The servers themselves restart through
// s.Redis.Restart and s.MinIO.Restart, which keep their ports and data.

// EmulatorStats reads a vendor emulator's counters ("clova-ocr", "ekyc", "nhn").
func (s *Stack) EmulatorStats(ctx context.Context, vendor string) (emulator.Stats, error) {
	var st emulator.Stats
	b, err := s.EmulatorAdmin(ctx, "GET", vendor, "stats", nil)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("emulator stats: %w", err)
	}
	return st, nil
}

// SetBehavior replaces a vendor emulator's behavior while it runs.
func (s *Stack) SetBehavior(ctx context.Context, vendor string, b emulator.Behavior) error {
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, err = s.EmulatorAdmin(ctx, "PUT", vendor, "behavior", body)
	return err
}

// SetQuota replaces a vendor emulator's call quota (0: none) and starts
// counting from zero.
func (s *Stack) SetQuota(ctx context.Context, vendor string, quota int) error {
	body, _ := json.Marshal(map[string]int{"quota": quota})
	_, err := s.EmulatorAdmin(ctx, "PUT", vendor, "quota", body)
	return err
}

// Inspector returns an asynq inspector on the stack's Redis (any kind);
// the caller closes it.
func (s *Stack) Inspector() *asynq.Inspector {
	opt, err := redisconn.Parse(s.RedisMode, s.RedisURL)
	if err != nil {
		panic("stack: its own Redis URL does not parse: " + err.Error())
	}
	return asynq.NewInspector(opt)
}

// QueueInfo returns asynq's counts for a queue; a queue that does not exist
// yet has all counts zero.
func (s *Stack) QueueInfo(queue string) (*asynq.QueueInfo, error) {
	in := s.Inspector()
	defer in.Close()
	qi, err := in.GetQueueInfo(queue)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", queue, err)
	}
	return qi, nil
}

// WaitFor polls cond every poll until it returns true, an error, or
// timeout passes (then it returns an error naming what).
func WaitFor(ctx context.Context, what string, timeout, poll time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
