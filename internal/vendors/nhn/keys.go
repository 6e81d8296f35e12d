package nhn

import (
	"context"
	"crypto/rsa"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ocrbatch/ocrworker/internal/vendors"
)

// publicKey is one vendor public key with the version the X-Key-Version
// header must name.
type publicKey struct {
	rsa     *rsa.PublicKey
	version string
	fetched time.Time
}

// keyRing caches the public key of each service ("credit-card", "id-card").
// Many tasks missing at once share one fetch; a key is fetched again after
// refresh, or at once when the vendor says its version is stale.
type keyRing struct {
	fetch   func(ctx context.Context, service string) (*publicKey, error)
	refresh time.Duration
	timeout time.Duration // bounds a shared fetch, whichever caller started it
	now     func() time.Time

	mu    sync.Mutex
	keys  map[string]*publicKey
	group singleflight.Group
}

func newKeyRing(fetch func(context.Context, string) (*publicKey, error), refresh, timeout time.Duration) *keyRing {
	return &keyRing{fetch: fetch, refresh: refresh, timeout: timeout, now: time.Now, keys: map[string]*publicKey{}}
}

// get returns the service's current key, fetching it when missing or old.
func (k *keyRing) get(ctx context.Context, service string) (*publicKey, error) {
	k.mu.Lock()
	key := k.keys[service]
	k.mu.Unlock()
	if key != nil && (k.refresh <= 0 || k.now().Sub(key.fetched) < k.refresh) {
		return key, nil
	}
	ch := k.group.DoChan(service, func() (any, error) {
		// The fetch is shared: one caller giving up must not fail the others.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.timeout)
		defer cancel()
		key, err := k.fetch(fctx, service)
		if err != nil {
			return nil, err
		}
		key.fetched = k.now()
		k.mu.Lock()
		k.keys[service] = key
		k.mu.Unlock()
		return key, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*publicKey), nil
	case <-ctx.Done():
		return nil, vendors.TransportError(ctx, "vendor", ctx.Err())
	}
}

// invalidate drops the service's key if it is still the given version, so
// that many tasks hearing "stale version" at once cause one refetch.
func (k *keyRing) invalidate(service, version string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key := k.keys[service]; key != nil && key.version == version {
		delete(k.keys, service)
	}
}
