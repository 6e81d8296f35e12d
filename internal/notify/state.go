package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// batchStateTTL keeps a batch's delivery outcomes for `producer status`
// well past its retry window.
const batchStateTTL = 30 * 24 * time.Hour

// State is one receiver's delivery state, for `producer status` and the
// dashboard. It holds no URL beyond Target (scheme and host).
type State struct {
	Receiver        string    // Receiver.ID()
	Target          string    // scheme://host
	Delivered       int64     // deliveries the receiver accepted (2xx)
	GaveUp          int64     // deliveries abandoned after RetryWindow
	Failing         bool      // the latest attempt failed
	LastCode        string    // code of the latest failed attempt (http_503, timeout, tls, redirect, ...)
	LastAttemptAt   time.Time // zero: never attempted
	LastDeliveredAt time.Time
}

// Delivery outcomes in a batch's state.
const (
	StateDelivered = "delivered"
	StateFailing   = "failing" // retrying
	StateGaveUp    = "gave_up"
)

// BatchDelivery is how one event of a batch went to one receiver (the latest
// delivery of that event, for document.failed).
type BatchDelivery struct {
	Receiver string    `json:"-"`
	Event    string    `json:"-"`
	Outcome  string    `json:"outcome"` // StateDelivered, StateFailing, StateGaveUp
	Code     string    `json:"code,omitempty"`
	At       time.Time `json:"at"`
}

// record stores one attempt's outcome: code "" is a success; final marks
// a failure that ends the delivery.
func record(ctx context.Context, rdb redis.UniversalClient, d delivery, code string, final bool, now time.Time) error {
	key := receiverKey(d.Receiver)
	ms := now.UnixMilli()
	outcome := StateDelivered
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "lastAttemptAt", ms)
		switch {
		case code == "":
			p.HIncrBy(ctx, key, "delivered", 1)
			p.HSet(ctx, key, "failing", 0, "lastDeliveredAt", ms)
		case final:
			outcome = StateGaveUp
			p.HIncrBy(ctx, key, "gaveUp", 1)
			p.HSet(ctx, key, "failing", 1, "lastCode", code)
		default:
			outcome = StateFailing
			p.HSet(ctx, key, "failing", 1, "lastCode", code)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: record delivery state: %w", err)
	}
	if d.Batch == "" {
		return nil
	}
	b, _ := json.Marshal(BatchDelivery{Outcome: outcome, Code: code, At: now.UTC()})
	bk := batchStateKey(d.Batch)
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, bk, d.Receiver+"/"+d.Event, b)
		p.Expire(ctx, bk, batchStateTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify: record batch delivery state: %w", err)
	}
	return nil
}

// States returns the delivery state of every configured receiver, in config
// order.
func States(ctx context.Context, rdb redis.UniversalClient, receivers []Receiver) ([]State, error) {
	out := make([]State, 0, len(receivers))
	for _, r := range receivers {
		m, err := rdb.HGetAll(ctx, receiverKey(r.ID())).Result()
		if err != nil {
			return nil, fmt.Errorf("notify: state of receiver %s: %w", r.ID(), err)
		}
		num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
		at := func(k string) time.Time {
			if m[k] == "" {
				return time.Time{}
			}
			return time.UnixMilli(num(k)).UTC()
		}
		out = append(out, State{
			Receiver: r.ID(), Target: r.Target(),
			Delivered: num("delivered"), GaveUp: num("gaveUp"), Failing: m["failing"] == "1",
			LastCode: m["lastCode"], LastAttemptAt: at("lastAttemptAt"), LastDeliveredAt: at("lastDeliveredAt"),
		})
	}
	return out, nil
}

// BatchDeliveries returns how each event of a batch went to each receiver,
// sorted by receiver then event; empty when nothing was sent.
func BatchDeliveries(ctx context.Context, rdb redis.UniversalClient, batch string) ([]BatchDelivery, error) {
	m, err := rdb.HGetAll(ctx, batchStateKey(batch)).Result()
	if err != nil {
		return nil, fmt.Errorf("notify: batch %s deliveries: %w", batch, err)
	}
	out := make([]BatchDelivery, 0, len(m))
	for k, v := range m {
		var d BatchDelivery
		if err := json.Unmarshal([]byte(v), &d); err != nil {
			return nil, fmt.Errorf("notify: batch %s: corrupt delivery state: %w", batch, err)
		}
		d.Receiver, d.Event, _ = strings.Cut(k, "/")
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Receiver != out[j].Receiver {
			return out[i].Receiver < out[j].Receiver
		}
		return out[i].Event < out[j].Event
	})
	return out, nil
}
