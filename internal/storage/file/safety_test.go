package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
)

var ctx = context.Background()

func putString(t *testing.T, b storage.Bucket, key, body string, opts storage.PutOptions) storage.ObjectInfo {
	t.Helper()
	info, err := b.Put(ctx, key, strings.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func getString(t *testing.T, b storage.Bucket, key string) (string, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := b.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return string(body), info
}

func listKeys(t *testing.T, b storage.Bucket, prefix, startAfter string) []string {
	t.Helper()
	var keys []string
	if err := b.List(ctx, prefix, startAfter, func(o storage.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatalf("List(%q, %q): %v", prefix, startAfter, err)
	}
	return keys
}

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRootEscapes: nothing outside the root is read, written, listed or
// deleted, whether named with ".." or reached through a symlink.
func TestRootEscapes(t *testing.T) {
	s, root := newStore(t, file.Options{})
	b := s.Bucket(root)
	outside := testDir(t)
	secret := filepath.Join(outside, "secret.txt")
	writeFile(t, secret, "outside the root")
	rel, err := filepath.Rel(root, secret)
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"abs-link.txt": secret,  // absolute symlink out
		"rel-link.txt": rel,     // ../../ symlink out
		"dirlink":      outside, // symlink to a directory out
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "in/inside.txt"), "inside")
	if err := os.Symlink("in/inside.txt", filepath.Join(root, "in-link.txt")); err != nil {
		t.Fatal(err)
	}

	for _, key := range []string{
		"abs-link.txt", "rel-link.txt", "dirlink/secret.txt", "../" + filepath.Base(outside) + "/secret.txt",
		"in/../../" + filepath.Base(outside) + "/secret.txt", "/" + strings.TrimPrefix(secret, "/"),
	} {
		if _, err := b.Head(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Head(%q) error = %v, want ErrNotFound", key, err)
		}
		if rc, _, err := b.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
		}
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) = %v, want nil (nothing in the store there)", key, err)
		}
	}
	for _, link := range []string{"abs-link.txt", "rel-link.txt", "dirlink"} {
		if _, err := os.Lstat(filepath.Join(root, link)); err != nil {
			t.Errorf("Delete removed %s: %v", link, err)
		}
	}
	if _, err := b.Put(ctx, "dirlink/new.txt", strings.NewReader("x"), 1, storage.PutOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("Put through a symlink to a directory outside the root: %v, want ErrInvalidKey", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file appeared outside the root: %v", err)
	}
	// A Put on an escaping link replaces the link itself, never its target.
	putString(t, b, "abs-link.txt", "replaced", storage.PutOptions{})
	// A create-only Put where a link out of the root holds the name: no
	// object is there, so no precondition failed; the key cannot be used.
	if _, err := b.Put(ctx, "rel-link.txt", strings.NewReader("x"), 1, storage.PutOptions{IfNoneMatch: true}); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("create-only Put over a link out of the root: %v, want ErrInvalidKey", err)
	}
	if got, _ := os.ReadFile(secret); string(got) != "outside the root" {
		t.Errorf("secret outside the root now holds %q", got)
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("secret outside the root: %v", err)
	}

	// A link that stays inside the root is an object; the escaping ones
	// and the linked directory are not listed.
	if got, _ := getString(t, b, "in-link.txt"); got != "inside" {
		t.Errorf("Get(in-link.txt) = %q, want the target's bytes", got)
	}
	if fi, err := os.Lstat(filepath.Join(root, "abs-link.txt")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("abs-link.txt after Put: %v, %v; want a regular file in the root", fi, err)
	}
	want := []string{"abs-link.txt", "in-link.txt", "in/inside.txt"}
	if got := listKeys(t, b, "", ""); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if got := listKeys(t, b, "dirlink/", ""); len(got) != 0 {
		t.Errorf("List(dirlink/) = %q, want nothing from outside the root", got)
	}
	if got := listKeys(t, b, "../", ""); len(got) != 0 {
		t.Errorf("List(../) = %q", got)
	}
}

// TestHiddenFiles: the store's own files are no objects; dot-files and NAS
// housekeeping are not listed, but can be read when named.
func TestHiddenFiles(t *testing.T) {
	for _, noXattr := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoXattr=%v", noXattr), func(t *testing.T) {
			s, root := newStore(t, file.Options{NoXattr: noXattr})
			b := s.Bucket(root)
			meta := storage.PutOptions{Metadata: map[string]string{"status": "succeeded"}}
			putString(t, b, "out/a.jpg.json", "{}", meta)
			putString(t, b, "out/a.jpg.json", `{"v":2}`, meta) // a replace: takes the lock
			putString(t, b, "top.json", "{}", meta)
			// A crashed writer's temp file, an NFS silly-rename file.
			writeFile(t, filepath.Join(root, "out/.ocrfs-tmp-0123456789ab"), "half a bo")
			writeFile(t, filepath.Join(root, "out/.nfs000000000012345600000001"), "deleted while open")
			writeFile(t, filepath.Join(root, "in/.hidden.jpg"), "a user's own dotfile, readable when named")
			for _, name := range []string{"in/.DS_Store", "in/._scan.jpg", "in/.snapshot/hourly.0/scan.jpg",
				"in/@eaDir/scan.jpg/SYNOPHOTO_THUMB_XL.jpg", "in/#recycle/old.jpg", "in/Thumbs.db", "in/scan.jpg"} {
				writeFile(t, filepath.Join(root, name), "x")
			}

			if _, err := os.Stat(filepath.Join(root, "out/.ocrfs-lock")); err != nil {
				t.Errorf("no lock file beside the objects (%v): the test would not see one hidden", err)
			}
			fallback := noXattr || !xattrSupported(t, root)
			if _, err := os.Stat(filepath.Join(root, "out/.ocrfs-meta")); (err == nil) != fallback {
				t.Errorf("metadata directory exists = %v, want %v", err == nil, fallback)
			}
			want := []string{"in/scan.jpg", "out/a.jpg.json", "top.json"}
			if got := listKeys(t, b, "", ""); !slices.Equal(got, want) {
				t.Errorf("List = %q, want %q", got, want)
			}
			if got, _ := getString(t, b, "in/.hidden.jpg"); got != "a user's own dotfile, readable when named" {
				t.Errorf("Get(in/.hidden.jpg) = %q", got)
			}
			for _, key := range []string{"out/.ocrfs-lock", "out/.ocrfs-tmp-0123456789ab", "out/.ocrfs-meta/a.jpg.json", ".ocrfs-lock", "out/.OCRFS-META/a.jpg.json"} {
				if _, err := b.Head(ctx, key); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Head(%q) error = %v, want ErrNotFound", key, err)
				}
				if _, err := b.Put(ctx, key, strings.NewReader("x"), 1, storage.PutOptions{}); err == nil {
					t.Errorf("Put(%q) succeeded on a reserved name", key)
				}
			}
			if err := b.Delete(ctx, "out/a.jpg.json"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(root, "out/.ocrfs-meta/a.jpg.json")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Delete left the metadata fallback file: %v", err)
			}
		})
	}
}

// TestMetadataStorage: xattrs when the filesystem has them, the hidden
// directory otherwise, and each reader finds what the other mode wrote.
func TestMetadataStorage(t *testing.T) {
	root := testDir(t)
	withXattr, _ := newStore(t, file.Options{Root: root})
	without, _ := newStore(t, file.Options{Root: root, NoXattr: true})
	meta := map[string]string{"source-etag": `"abc"`, "status": "failed", "code": "SOURCE_NOT_FOUND"}

	putString(t, withXattr.Bucket(root), "x.json", "{}", storage.PutOptions{ContentType: "application/json", Metadata: meta})
	buf := make([]byte, 4096)
	if xattrSupported(t, root) {
		if n, err := unix.Getxattr(filepath.Join(root, "x.json"), "user.ocrfs", buf); err != nil || !bytes.Contains(buf[:n], []byte("SOURCE_NOT_FOUND")) {
			t.Errorf("user.ocrfs xattr = %q, %v; want the metadata", buf[:max(n, 0)], err)
		}
	} else if _, err := os.Stat(filepath.Join(root, ".ocrfs-meta/x.json")); err != nil {
		t.Errorf("no xattrs here, and no fallback file either: %v", err)
	}

	putString(t, without.Bucket(root), "y.json", "{}", storage.PutOptions{ContentType: "application/json", Metadata: meta})
	if _, err := unix.Getxattr(filepath.Join(root, "y.json"), "user.ocrfs", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("NoXattr store set an xattr (err %v)", err)
	}
	for _, s := range []*file.Store{withXattr, without} {
		for _, key := range []string{"x.json", "y.json"} {
			info, err := s.Bucket(root).Head(ctx, key)
			if err != nil || info.Metadata["code"] != "SOURCE_NOT_FOUND" || info.ContentType != "application/json" {
				t.Errorf("Head(%q) = %+v, %v; want the metadata back", key, info, err)
			}
		}
	}

	// The same bytes again with other metadata: the metadata is the new
	// one, for every reader. With xattrs the file (and its ETag) stays;
	// the fallback writes a new file.
	for i, s := range []*file.Store{withXattr, without} {
		key := fmt.Sprintf("same-%d.json", i)
		b := s.Bucket(root)
		before := putString(t, b, key, "{}", storage.PutOptions{Metadata: map[string]string{"status": "failed"}})
		again := putString(t, b, key, "{}", storage.PutOptions{Metadata: map[string]string{"status": "succeeded"}})
		if keep := s == withXattr && xattrSupported(t, root); (again.ETag == before.ETag) != keep {
			t.Errorf("%s: same bytes, new metadata: ETags %s then %s; want them equal = %v", key, before.ETag, again.ETag, keep)
		}
		for _, reader := range []*file.Store{withXattr, without} {
			head, err := reader.Bucket(root).Head(ctx, key)
			if err != nil || head.ETag != again.ETag || head.Metadata["status"] != "succeeded" {
				t.Errorf("%s: Head after the metadata change = %+v (%v); want ETag %s, status succeeded", key, head, err, again.ETag)
			}
		}
	}
	// A file whose xattr another machine set, updated through the fallback.
	putString(t, withXattr.Bucket(root), "mixed.json", "{}", storage.PutOptions{Metadata: map[string]string{"status": "failed"}})
	putString(t, without.Bucket(root), "mixed.json", "{}", storage.PutOptions{Metadata: map[string]string{"status": "succeeded"}})
	if head, err := withXattr.Bucket(root).Head(ctx, "mixed.json"); err != nil || head.Metadata["status"] != "succeeded" {
		t.Errorf("Head(mixed.json) = %+v (%v), want the fallback writer's status succeeded, not the stale xattr", head, err)
	}

	// A user's own file: no metadata, a type by extension.
	writeFile(t, filepath.Join(root, "scan.png"), "png")
	info, err := withXattr.Bucket(root).Head(ctx, "scan.png")
	if err != nil || info.Metadata != nil || info.ContentType != "image/png" {
		t.Errorf("Head(scan.png) = %+v, %v; want no metadata, image/png", info, err)
	}
}

// TestETag: inode, mtime in ns and size; it changes with any change to the
// file, and a replace never gets an older mtime than the file it replaces.
func TestETag(t *testing.T) {
	s, root := newStore(t, file.Options{})
	b := s.Bucket(root)
	put := putString(t, b, "a.txt", "hello", storage.PutOptions{})
	fi, err := os.Stat(filepath.Join(root, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`"%x-%x-%x"`, fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime().UnixNano(), fi.Size())
	if put.ETag != want {
		t.Errorf("Put ETag = %s, want %s", put.ETag, want)
	}
	if head, _ := b.Head(ctx, "a.txt"); head.ETag != want {
		t.Errorf("Head ETag = %s, want %s", head.ETag, want)
	}

	// Another program edits the file: the ETag moves, If-Match sees it.
	later := fi.ModTime().Add(time.Second)
	if err := os.WriteFile(filepath.Join(root, "a.txt"), []byte("HELLO"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(root, "a.txt"), later, later)
	if head, _ := b.Head(ctx, "a.txt"); head.ETag == put.ETag {
		t.Errorf("ETag %s unchanged after the file changed", head.ETag)
	}
	if _, err := b.Put(ctx, "a.txt", strings.NewReader("x"), 1, storage.PutOptions{IfMatch: put.ETag}); !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Errorf("If-Match with the ETag before the edit: %v, want ErrPreconditionFailed", err)
	}

	// The file's mtime is ahead of the clock (another machine's, or the
	// same coarse tick): the replacing file still gets a later one.
	future := time.Now().Add(time.Hour).Truncate(time.Second)
	os.Chtimes(filepath.Join(root, "a.txt"), future, future)
	putString(t, b, "a.txt", "world", storage.PutOptions{})
	fi, err = os.Stat(filepath.Join(root, "a.txt"))
	if err != nil || !fi.ModTime().After(future) {
		t.Errorf("replacing file mtime = %v (err %v), want after %v", fi.ModTime(), err, future)
	}
}

func TestSpecialFilesAndConflicts(t *testing.T) {
	s, root := newStore(t, file.Options{})
	b := s.Bucket(root)
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := b.Get(ctx, "pipe.jpg")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(FIFO) error = %v, want ErrNotFound", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Get on a FIFO hangs")
	}
	if got := listKeys(t, b, "", ""); len(got) != 0 {
		t.Errorf("List = %q, want no special files", got)
	}
	go func() { done <- b.List(ctx, "pipe.jpg/", "", func(storage.ObjectInfo) error { return nil }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("List(FIFO/) = %v, want nothing", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("List with a prefix naming a FIFO hangs")
	}

	// Keys a file tree cannot hold fail as ErrInvalidKey: permanent, since
	// no retry makes them fit.
	putString(t, b, "a", "file", storage.PutOptions{})
	putString(t, b, "d/x", "x", storage.PutOptions{})
	if _, err := b.Head(ctx, "d"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head(directory) error = %v, want ErrNotFound", err)
	}
	for what, key := range map[string]string{
		`"a" is a file`:         "a/b",
		"a directory":           "d",
		"a directory marker":    "d/",
		"a name over 255 bytes": "d/" + strings.Repeat("n", 256),
	} {
		_, err := b.Put(ctx, key, strings.NewReader("x"), 1, storage.PutOptions{})
		if !errors.Is(err, storage.ErrInvalidKey) || storage.IsTransient(err) {
			t.Errorf("Put over %s: %v, want a permanent ErrInvalidKey", what, err)
		}
	}
	if got, _ := getString(t, b, "d/x"); got != "x" {
		t.Errorf("d/x = %q after refused Puts", got)
	}
}

func TestOtherBucketNameFails(t *testing.T) {
	s, root := newStore(t, file.Options{})
	_, err := s.Bucket("/elsewhere").Head(ctx, "x")
	if err == nil || !strings.Contains(err.Error(), root) || storage.IsTransient(err) {
		t.Errorf("Head on another root: %v, want a permanent error naming the root %s", err, root)
	}
	if _, err := file.New(file.Options{Root: filepath.Join(root, "missing")}); err == nil {
		t.Error("New on a missing root succeeded")
	}
	if _, err := file.New(file.Options{Root: "relative/dir"}); err == nil {
		t.Error("New on a relative root succeeded")
	}
}

// TestErrorsNameNoKeys: keys may hold personal data and errors reach logs.
func TestErrorsNameNoKeys(t *testing.T) {
	s, root := newStore(t, file.Options{})
	b := s.Bucket(root)
	putString(t, b, "hong-900101/card.jpg", "x", storage.PutOptions{})
	_, errGet := b.Head(ctx, "hong-900101/missing.jpg")
	_, errPut := b.Put(ctx, "hong-900101/card.jpg/x", strings.NewReader("x"), 1, storage.PutOptions{})
	for _, err := range []error{errGet, errPut} {
		if err == nil || strings.Contains(err.Error(), "hong") || strings.Contains(err.Error(), "900101") {
			t.Errorf("error %v names the key (or is nil)", err)
		}
	}
}

// xattrSupported probes dir's filesystem for user extended attributes.
func xattrSupported(t *testing.T, dir string) bool {
	t.Helper()
	probe := filepath.Join(dir, "xattr-probe")
	writeFile(t, probe, "")
	defer os.Remove(probe)
	err := unix.Setxattr(probe, "user.probe", []byte("1"), 0)
	if err != nil && !errors.Is(err, unix.ENOTSUP) {
		t.Fatalf("probe xattrs: %v", err)
	}
	return err == nil
}
