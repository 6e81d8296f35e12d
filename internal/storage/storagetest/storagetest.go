// Package storagetest holds the acceptance suite every storage.Bucket
// implementation passes. New semantics go here so every implementation is
// held to them.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/ocrbatch/ocrworker/internal/storage"
)

// ManyObjects is how many objects the listing test creates: more than one
// ListObjectsV2 page (1,000 keys), so paging is exercised.
const ManyObjects = 1050

// AcceptanceTest checks b against the storage.Bucket contract. It works
// under a fresh random prefix, so b may be shared with other data, and
// deletes what it wrote when done.
func AcceptanceTest(t *testing.T, b storage.Bucket) {
	t.Helper()
	prefix := "storagetest-" + randomHex(6) + "/"
	t.Cleanup(func() { deleteAll(t, b, prefix) })

	t.Run("NotFound", func(t *testing.T) { testNotFound(t, b, prefix) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, b, prefix) })
	t.Run("EmptyObject", func(t *testing.T) { testEmptyObject(t, b, prefix) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, b, prefix) })
	t.Run("ConditionalPut", func(t *testing.T) { testConditionalPut(t, b, prefix) })
	t.Run("ConcurrentCreateOnly", func(t *testing.T) { testConcurrentCreateOnly(t, b, prefix) })
	t.Run("ConcurrentIfMatch", func(t *testing.T) { testConcurrentIfMatch(t, b, prefix) })
	t.Run("PutFromStream", func(t *testing.T) { testPutFromStream(t, b, prefix) })
	t.Run("StreamingGet", func(t *testing.T) { testStreamingGet(t, b, prefix) })
	t.Run("List", func(t *testing.T) { testList(t, b, prefix) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, b, prefix) })
}

func testNotFound(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	key := prefix + "missing/nothing-here.jpg"
	if rc, _, err := b.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	} else if storage.IsTransient(err) {
		t.Errorf("IsTransient(%v) = true for a missing object", err)
	}
	if _, err := b.Head(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head(missing) error = %v, want ErrNotFound", err)
	}
}

func testRoundTrip(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	// Spaces, Hangul and URL-special characters must survive signing and escaping.
	key := prefix + "round trip/영수증 #1+(a)&b.jpg"
	body := randomBytes(64 << 10)
	meta := map[string]string{"source": "s3://in/scan-01.jpg", "batch-id": "b-42"}
	put, err := b.Put(ctx, key, bytes.NewReader(body), int64(len(body)), storage.PutOptions{
		ContentType: "image/jpeg",
		Metadata:    meta,
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if put.ETag == "" || put.Size != int64(len(body)) || put.Key != key {
		t.Errorf("Put info = %+v, want key %q, size %d and an ETag", put, key, len(body))
	}

	head, err := b.Head(ctx, key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	checkInfo(t, "Head", head, key, int64(len(body)), put.ETag, "image/jpeg", meta)

	rc, info, err := b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("Get body: %d bytes differing from the %d put", len(got), len(body))
	}
	checkInfo(t, "Get", info, key, int64(len(body)), put.ETag, "image/jpeg", meta)
}

func checkInfo(t *testing.T, op string, info storage.ObjectInfo, key string, size int64, etag, contentType string, meta map[string]string) {
	t.Helper()
	if info.Key != key || info.Size != size || info.ETag != etag || info.ContentType != contentType {
		t.Errorf("%s info = {Key:%q Size:%d ETag:%s ContentType:%q}, want {%q %d %s %q}",
			op, info.Key, info.Size, info.ETag, info.ContentType, key, size, etag, contentType)
	}
	if info.LastModified.IsZero() || time.Since(info.LastModified) > time.Hour {
		t.Errorf("%s LastModified = %v, want about now", op, info.LastModified)
	}
	if !maps.Equal(info.Metadata, meta) {
		t.Errorf("%s Metadata = %v, want %v", op, info.Metadata, meta)
	}
}

func testEmptyObject(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	key := prefix + "empty"
	if _, err := b.Put(ctx, key, bytes.NewReader(nil), 0, storage.PutOptions{}); err != nil {
		t.Fatalf("Put(empty): %v", err)
	}
	rc, info, err := b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(empty): %v", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || len(got) != 0 || info.Size != 0 {
		t.Errorf("Get(empty) = %d bytes, size %d, err %v; want nothing", len(got), info.Size, err)
	}
}

func testOverwrite(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	key := prefix + "overwrite.json"
	first := put(t, b, key, []byte(`{"v":1}`), storage.PutOptions{ContentType: "application/json"})
	again := put(t, b, key, []byte(`{"v":1}`), storage.PutOptions{ContentType: "application/json"})
	if first.ETag != again.ETag {
		t.Errorf("same bytes put twice: ETags %s and %s, want equal", first.ETag, again.ETag)
	}
	second := put(t, b, key, []byte(`{"v":2, "longer": true}`), storage.PutOptions{})
	if second.ETag == first.ETag {
		t.Errorf("different bytes kept ETag %s", first.ETag)
	}
	if got := read(t, b, key); got != `{"v":2, "longer": true}` {
		t.Errorf("after overwrite Get = %q", got)
	}
	head, err := b.Head(ctx, key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if len(head.Metadata) != 0 {
		t.Errorf("overwrite without metadata kept metadata %v", head.Metadata)
	}
}

func testConditionalPut(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	key := prefix + "conditional.json"
	created := put(t, b, key, []byte("first"), storage.PutOptions{IfNoneMatch: true})

	_, err := b.Put(ctx, key, bytes.NewReader([]byte("second")), 6, storage.PutOptions{IfNoneMatch: true})
	if !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Errorf("IfNoneMatch on existing key: error = %v, want ErrPreconditionFailed", err)
	}
	if storage.IsTransient(err) {
		t.Errorf("IsTransient(%v) = true for a failed precondition", err)
	}
	if got := read(t, b, key); got != "first" {
		t.Errorf("after refused create, body = %q, want %q", got, "first")
	}

	replaced := put(t, b, key, []byte("third"), storage.PutOptions{IfMatch: created.ETag})
	if replaced.ETag == created.ETag {
		t.Errorf("IfMatch replace kept ETag %s", created.ETag)
	}
	// The old ETag is stale now.
	_, err = b.Put(ctx, key, bytes.NewReader([]byte("fourth")), 6, storage.PutOptions{IfMatch: created.ETag})
	if !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Errorf("IfMatch with stale ETag: error = %v, want ErrPreconditionFailed", err)
	}
	if got := read(t, b, key); got != "third" {
		t.Errorf("after refused replace, body = %q, want %q", got, "third")
	}
	_, err = b.Put(ctx, prefix+"conditional-missing", bytes.NewReader([]byte("x")), 1, storage.PutOptions{IfMatch: created.ETag})
	if !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Errorf("IfMatch on missing key: error = %v, want ErrPreconditionFailed", err)
	}
}

// testConcurrentCreateOnly: writers racing to create one key (workers
// finishing the same document) have exactly one winner, and its body and
// metadata are what is stored.
func testConcurrentCreateOnly(t *testing.T, b storage.Bucket, prefix string) {
	const writers = 8
	for round := range 3 {
		key := fmt.Sprintf("%srace/create-%d.json", prefix, round)
		var mu sync.Mutex
		var winners []string
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				body := fmt.Sprintf("writer %d", w)
				_, err := b.Put(context.Background(), key, bytes.NewReader([]byte(body)), int64(len(body)), storage.PutOptions{
					IfNoneMatch: true, Metadata: map[string]string{"writer": body},
				})
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, body)
					mu.Unlock()
				case !errors.Is(err, storage.ErrPreconditionFailed):
					t.Errorf("create-only %s: %v, want nil or ErrPreconditionFailed", body, err)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d create-only writers won (%q), want exactly 1", round, len(winners), winners)
		}
		head, err := b.Head(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, b, key); got != winners[0] || head.Metadata["writer"] != winners[0] {
			t.Errorf("round %d: stored %q with metadata %v, want the winner's %q", round, got, head.Metadata, winners[0])
		}
	}
}

// testConcurrentIfMatch: read-modify-write with If-Match, retried on
// ErrPreconditionFailed, loses no update however the writers interleave.
func testConcurrentIfMatch(t *testing.T, b storage.Bucket, prefix string) {
	const writers, each = 4, 10
	ctx := context.Background()
	key := prefix + "race/counter"
	put(t, b, key, []byte("0"), storage.PutOptions{})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for done := 0; done < each; {
				rc, info, err := b.Get(ctx, key)
				if err != nil {
					t.Error(err)
					return
				}
				raw, err := io.ReadAll(rc)
				rc.Close()
				var n int
				if _, serr := fmt.Sscan(string(raw), &n); err != nil || serr != nil {
					t.Errorf("counter read %q: %v %v", raw, err, serr)
					return
				}
				next := []byte(fmt.Sprint(n + 1))
				_, err = b.Put(ctx, key, bytes.NewReader(next), int64(len(next)), storage.PutOptions{IfMatch: info.ETag})
				switch {
				case err == nil:
					done++
				case !errors.Is(err, storage.ErrPreconditionFailed):
					t.Errorf("If-Match put: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := read(t, b, key); got != fmt.Sprint(writers*each) {
		t.Errorf("counter = %s after %d If-Match increments: updates were lost", got, writers*each)
	}
}

// testPutFromStream puts from readers that cannot seek, with a known and an
// unknown size, as a worker does when copying a stream.
func testPutFromStream(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	body := randomBytes(300 << 10)
	for _, size := range []int64{int64(len(body)), -1} {
		key := fmt.Sprintf("%sstream/size%d", prefix, size)
		pr, pw := io.Pipe()
		go func() {
			// Small writes so the body arrives in pieces.
			for rest := body; len(rest) > 0; {
				n := min(len(rest), 10<<10)
				if _, err := pw.Write(rest[:n]); err != nil {
					return
				}
				rest = rest[n:]
			}
			pw.Close()
		}()
		info, err := b.Put(ctx, key, pr, size, storage.PutOptions{ContentType: "application/octet-stream"})
		pr.Close()
		if err != nil {
			t.Fatalf("Put(pipe, size %d): %v", size, err)
		}
		if info.Size != int64(len(body)) {
			t.Errorf("Put(pipe, size %d) Size = %d, want %d", size, info.Size, len(body))
		}
		if got := read(t, b, key); got != string(body) {
			t.Errorf("Put(pipe, size %d): read back %d bytes, not the %d written", size, len(got), len(body))
		}
	}
}

func testStreamingGet(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	key := prefix + "large.bin"
	body := randomBytes(4 << 20)
	put(t, b, key, body, storage.PutOptions{})

	// Closing after a partial read must be fine (callers sniff a header, then give up).
	rc, info, err := b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	head := make([]byte, 16)
	if _, err := io.ReadFull(rc, head); err != nil || !bytes.Equal(head, body[:16]) {
		t.Errorf("first 16 bytes = %x (err %v), want %x", head, err, body[:16])
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close after partial read: %v", err)
	}
	if info.Size != int64(len(body)) {
		t.Errorf("Get Size = %d before reading, want %d", info.Size, len(body))
	}

	rc, _, err = b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, rc, make([]byte, 32<<10))
	if err != nil {
		t.Fatalf("stream body: %v", err)
	}
	want := sha256.Sum256(body)
	if n != int64(len(body)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Errorf("streamed %d bytes with a different digest, want %d", n, len(body))
	}
}

func testList(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	dir := prefix + "many/"
	keys := make([]string, ManyObjects)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%05d.json", dir, i)
	}
	// Neighbours that share the string prefix but not the "directory".
	putConcurrently(t, b, append(keys, prefix+"many-not/x", prefix+"man", prefix+"other/1"))

	collect := func(p, after string) []storage.ObjectInfo {
		t.Helper()
		var got []storage.ObjectInfo
		if err := b.List(ctx, p, after, func(o storage.ObjectInfo) error {
			got = append(got, o)
			return nil
		}); err != nil {
			t.Fatalf("List(%q, %q): %v", p, after, err)
		}
		return got
	}

	all := collect(dir, "")
	if len(all) != len(keys) {
		t.Fatalf("List(%q) visited %d objects, want %d (all pages)", dir, len(all), len(keys))
	}
	for i, o := range all {
		if o.Key != keys[i] {
			t.Fatalf("List item %d = %q, want %q (key order)", i, o.Key, keys[i])
		}
		if o.Size != int64(len(o.Key)) || o.ETag == "" {
			t.Fatalf("List item %q: size %d, ETag %q; want size %d and an ETag", o.Key, o.Size, o.ETag, len(o.Key))
		}
	}

	if got := collect(dir, keys[499]); len(got) != len(keys)-500 || got[0].Key != keys[500] {
		t.Errorf("List after %q: %d objects starting %q, want %d starting %q", keys[499], len(got), firstKey(got), len(keys)-500, keys[500])
	}
	// startAfter need not exist.
	if got := collect(dir, keys[998]+"~"); len(got) != len(keys)-999 || got[0].Key != keys[999] {
		t.Errorf("List after a non-key: %d objects starting %q, want %d starting %q", len(got), firstKey(got), len(keys)-999, keys[999])
	}
	if got := collect(prefix+"nothing/", ""); len(got) != 0 {
		t.Errorf("List(empty prefix) visited %d objects", len(got))
	}
	if got := collect(prefix+"man", ""); len(got) != len(keys)+2 {
		t.Errorf("List(%q) visited %d objects, want %d", prefix+"man", len(got), len(keys)+2)
	}

	stop := errors.New("stop here")
	calls := 0
	err := b.List(ctx, dir, "", func(storage.ObjectInfo) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("List with fn failing at 3: err %v after %d calls, want %v after 3", err, calls, stop)
	}
}

func testDelete(t *testing.T, b storage.Bucket, prefix string) {
	ctx := context.Background()
	key := prefix + "delete-me"
	put(t, b, key, []byte("bye"), storage.PutOptions{})
	if err := b.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Head(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head after Delete: error = %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Errorf("second Delete: %v, want nil (idempotent)", err)
	}
	if err := b.Delete(ctx, prefix+"never-existed"); err != nil {
		t.Errorf("Delete(never existed): %v, want nil", err)
	}
}

func put(t *testing.T, b storage.Bucket, key string, body []byte, opts storage.PutOptions) storage.ObjectInfo {
	t.Helper()
	info, err := b.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func read(t *testing.T, b storage.Bucket, key string) string {
	t.Helper()
	rc, _, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return string(body)
}

// putConcurrently writes each key with its own name as the body.
func putConcurrently(t *testing.T, b storage.Bucket, keys []string) {
	t.Helper()
	forEach(keys, func(key string) error {
		_, err := b.Put(context.Background(), key, bytes.NewReader([]byte(key)), int64(len(key)), storage.PutOptions{})
		return err
	}, func(err error) { t.Errorf("Put: %v", err) })
	if t.Failed() {
		t.FailNow()
	}
}

func deleteAll(t *testing.T, b storage.Bucket, prefix string) {
	var keys []string
	if err := b.List(context.Background(), prefix, "", func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Errorf("cleanup: List: %v", err)
		return
	}
	forEach(keys, func(key string) error { return b.Delete(context.Background(), key) },
		func(err error) { t.Errorf("cleanup: Delete: %v", err) })
}

// forEach runs fn over items with bounded concurrency; a real store answers
// a thousand small requests much faster in parallel.
func forEach(items []string, fn func(string) error, onErr func(error)) {
	const workers = 16
	work := make(chan string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for item := range work {
				if err := fn(item); err != nil {
					mu.Lock()
					onErr(err)
					mu.Unlock()
				}
			}
		})
	}
	for _, item := range items {
		work <- item
	}
	close(work)
	wg.Wait()
}

func firstKey(infos []storage.ObjectInfo) string {
	if len(infos) == 0 {
		return ""
	}
	return infos[0].Key
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }
