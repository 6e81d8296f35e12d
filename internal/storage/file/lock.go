package file

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path"
	"time"
)

// lock takes the key's lock: one byte, chosen by the name's hash, of the
// directory's lock file. Two names may share a byte; that only serializes
// them. Waiting polls rather than blocks, so it ends with ctx, and it does
// not depend on NFS lock callbacks reaching this client.
func (b *Bucket) lock(ctx context.Context, key string) (unlock func(), err error) {
	dir, name := splitKey(key)
	f, err := b.root.OpenFile(path.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", pathless(err))
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	offset := int64(h.Sum32() & 0x7fffffff) // below 2^31: NLMv3 servers take 32-bit offsets only
	wait := 100 * time.Microsecond
	for {
		busy, err := tryLock(f, offset)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock: %w", err)
		}
		if !busy {
			return func() { f.Close() }, nil // closing the file releases the lock
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}
