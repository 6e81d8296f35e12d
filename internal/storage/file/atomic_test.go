package file_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
)

// TestCreateOnlyExactlyOneWins: many writers create one key at once; one
// wins, every other gets ErrPreconditionFailed, the body is the winner's.
func TestCreateOnlyExactlyOneWins(t *testing.T) {
	for _, noXattr := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoXattr=%v", noXattr), func(t *testing.T) {
			s, root := newStore(t, file.Options{NoXattr: noXattr})
			b := s.Bucket(root)
			const writers = 32
			for round := range 5 {
				key := fmt.Sprintf("out/r%d.json", round)
				var wins atomic.Int32
				winner := make(chan string, writers)
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						body := fmt.Sprintf("writer %d", w)
						_, err := b.Put(ctx, key, strings.NewReader(body), int64(len(body)), storage.PutOptions{
							IfNoneMatch: true, Metadata: map[string]string{"writer": strconv.Itoa(w)},
						})
						switch {
						case err == nil:
							wins.Add(1)
							winner <- body
						case !errors.Is(err, storage.ErrPreconditionFailed):
							t.Errorf("writer %d: %v, want nil or ErrPreconditionFailed", w, err)
						}
					})
				}
				wg.Wait()
				if wins.Load() != 1 {
					t.Fatalf("round %d: %d writers won, want exactly 1", round, wins.Load())
				}
				got, info := getString(t, b, key)
				if want := <-winner; got != want || "writer "+info.Metadata["writer"] != want {
					t.Errorf("round %d: body %q, metadata %v; want the winner's %q", round, got, info.Metadata, want)
				}
			}
			assertNoTempFiles(t, filepath.Join(root, "out"))
		})
	}
}

// TestCreateOnlyWithoutHardLinks: on a filesystem without link(2) (FAT,
// exFAT, some SMB shares) create-only still has exactly one winner.
func TestCreateOnlyWithoutHardLinks(t *testing.T) {
	s, root := newStore(t, file.Options{})
	b := s.Bucket(root).(*file.Bucket)
	file.NoHardLinks(b)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			body := fmt.Sprintf("writer %d", w)
			_, err := b.Put(ctx, "r.json", strings.NewReader(body), int64(len(body)), storage.PutOptions{IfNoneMatch: true})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, storage.ErrPreconditionFailed):
				t.Errorf("writer %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d writers won without hard links, want exactly 1", wins.Load())
	}
	assertNoTempFiles(t, root)
}

// TestIfMatchLosesNoUpdate: writers increment one counter by read, then
// If-Match put, retrying on ErrPreconditionFailed. Every increment must
// land: a compare and a rename that were not one step would lose some.
func TestIfMatchLosesNoUpdate(t *testing.T) {
	s, root := newStore(t, file.Options{})
	b := s.Bucket(root)
	putString(t, b, "counter", "0", storage.PutOptions{})
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				if err := increment(b, "counter"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, _ := getString(t, b, "counter"); got != strconv.Itoa(writers*each) {
		t.Errorf("counter = %s, want %d", got, writers*each)
	}
}

func increment(b storage.Bucket, key string) error {
	for {
		rc, info, err := b.Get(ctx, key)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return fmt.Errorf("counter holds %q", raw)
		}
		next := strconv.Itoa(n + 1)
		_, err = b.Put(ctx, key, strings.NewReader(next), int64(len(next)), storage.PutOptions{IfMatch: info.ETag})
		if errors.Is(err, storage.ErrPreconditionFailed) {
			continue
		}
		return err
	}
}

// TestReaderNeverSeesPartialReplace: while one writer replaces a large
// object over and over, readers always get one whole version, with that
// version's own metadata.
func TestReaderNeverSeesPartialReplace(t *testing.T) {
	for _, noXattr := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoXattr=%v", noXattr), func(t *testing.T) {
			s, root := newStore(t, file.Options{NoXattr: noXattr})
			b := s.Bucket(root)
			const size, versions = 256 << 10, 60
			version := func(v int) []byte { return bytes.Repeat([]byte{byte('A' + v%26)}, size) }
			put := func(v int) {
				_, err := b.Put(ctx, "big.bin", bytes.NewReader(version(v)), size, storage.PutOptions{
					Metadata: map[string]string{"v": strconv.Itoa(v % 26)},
				})
				if err != nil {
					t.Error(err)
				}
			}
			put(0)
			stop := make(chan struct{})
			var reads atomic.Int64
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						rc, info, err := b.Get(ctx, "big.bin")
						if err != nil {
							t.Errorf("Get during replace: %v", err)
							return
						}
						body, err := io.ReadAll(rc)
						rc.Close()
						if err != nil {
							t.Errorf("read during replace: %v", err)
							return
						}
						reads.Add(1)
						v, _ := strconv.Atoi(info.Metadata["v"])
						if len(body) != size || info.Size != size || !bytes.Equal(body, version(v)) {
							t.Errorf("read %d bytes (info says %d), metadata v=%q: not one whole version", len(body), info.Size, info.Metadata["v"])
							return
						}
					}
				})
			}
			for v := 1; v < versions; v++ {
				put(v)
			}
			close(stop)
			wg.Wait()
			if reads.Load() == 0 {
				t.Fatal("no read overlapped the writes")
			}
			assertNoTempFiles(t, root)
		})
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".ocrfs-tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// The cross-process tests run this test binary again as writers; the
// helper does nothing in a normal run.
const helperEnv = "OCRFS_TEST_HELPER"

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper for the cross-process tests")
	}
	s, err := file.New(file.Options{Root: os.Getenv("OCRFS_ROOT")})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	b := s.Bucket(os.Getenv("OCRFS_ROOT"))
	id := os.Getenv("OCRFS_ID")
	switch mode {
	case "create":
		for i := range 20 {
			key := fmt.Sprintf("k%02d", i)
			body := "process " + id
			_, err := b.Put(ctx, key, strings.NewReader(body), int64(len(body)), storage.PutOptions{IfNoneMatch: true})
			switch {
			case err == nil:
				fmt.Println("WON", key)
			case !errors.Is(err, storage.ErrPreconditionFailed):
				fmt.Println("ERR", err)
			}
		}
	case "increment":
		for range 30 {
			if err := increment(b, "counter"); err != nil {
				fmt.Println("ERR", err)
			}
		}
	case "crash":
		// Die halfway through a body: no deferred cleanup runs, as in a
		// kill -9 or a power cut before the rename.
		body := io.MultiReader(strings.NewReader(strings.Repeat("new ", 64<<10)), crashReader{})
		b.Put(ctx, "result.json", body, -1, storage.PutOptions{})
	}
	os.Exit(0)
}

type crashReader struct{}

func (crashReader) Read([]byte) (int, error) { os.Exit(3); return 0, nil }

func runHelpers(t *testing.T, root, mode string, n int) []string {
	t.Helper()
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), helperEnv+"="+mode, "OCRFS_ROOT="+root, "OCRFS_ID="+strconv.Itoa(i))
			out, _ := cmd.Output()
			outs[i] = string(out)
		})
	}
	wg.Wait()
	return outs
}

// TestCrossProcess: the guarantees hold between processes (as between
// machines on one mount), not only between goroutines of one process.
func TestCrossProcess(t *testing.T) {
	t.Run("CreateOnly", func(t *testing.T) {
		s, root := newStore(t, file.Options{})
		const procs = 4
		winners := map[string][]int{}
		for i, out := range runHelpers(t, root, "create", procs) {
			for line := range strings.Lines(out) {
				if key, ok := strings.CutPrefix(strings.TrimSpace(line), "WON "); ok {
					winners[key] = append(winners[key], i)
				} else if strings.HasPrefix(line, "ERR") {
					t.Errorf("process %d: %s", i, line)
				}
			}
		}
		for k := range 20 {
			key := fmt.Sprintf("k%02d", k)
			if len(winners[key]) != 1 {
				t.Errorf("%s won by processes %v, want exactly one", key, winners[key])
				continue
			}
			if got, _ := getString(t, s.Bucket(root), key); got != fmt.Sprintf("process %d", winners[key][0]) {
				t.Errorf("%s holds %q, not its winner's body", key, got)
			}
		}
	})
	t.Run("IfMatch", func(t *testing.T) {
		s, root := newStore(t, file.Options{})
		putString(t, s.Bucket(root), "counter", "0", storage.PutOptions{})
		const procs = 4
		for i, out := range runHelpers(t, root, "increment", procs) {
			if strings.Contains(out, "ERR") {
				t.Errorf("process %d: %s", i, out)
			}
		}
		if got, _ := getString(t, s.Bucket(root), "counter"); got != strconv.Itoa(procs*30) {
			t.Errorf("counter = %s, want %d: an increment was lost between processes", got, procs*30)
		}
	})
	t.Run("CrashMidWrite", func(t *testing.T) {
		s, root := newStore(t, file.Options{})
		b := s.Bucket(root)
		old := putString(t, b, "result.json", `{"old":true}`, storage.PutOptions{})
		runHelpers(t, root, "crash", 1)

		got, info := getString(t, b, "result.json")
		if got != `{"old":true}` || info.ETag != old.ETag {
			t.Errorf("after a crash mid-write, result.json = %q (ETag %s), want the old version %s", got, info.ETag, old.ETag)
		}
		var leftovers []string
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".ocrfs-tmp-") {
				leftovers = append(leftovers, e.Name())
			}
		}
		if len(leftovers) != 1 {
			t.Fatalf("temporary files after the crash: %q, want the crashed writer's one (else the test did not crash mid-write)", leftovers)
		}
		if keys := listKeys(t, b, "", ""); !slices.Equal(keys, []string{"result.json"}) {
			t.Errorf("List after the crash = %q, want only result.json", keys)
		}
	})
}
