package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileRoot(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "f")
	os.WriteFile(notDir, nil, 0o600)
	c, err := Parse([]byte("redis: {url: redis://x}\n"))
	if err != nil || c.Storage.Root() != "/" {
		t.Errorf("default: %v %q, want /", err, c.Storage.Root())
	}
	c, err = Parse([]byte("redis: {url: redis://x}\nstorage: {fileRoot: " + dir + "/}\n"))
	if err != nil || c.Storage.Root() != dir {
		t.Errorf("fileRoot %s/: %v %q, want it cleaned to %s", dir, err, c.Storage.Root(), dir)
	}
	for root, want := range map[string]string{
		"data":           "not an absolute path",
		dir + "/missing": "does not exist",
		notDir:           "is not a directory",
	} {
		_, err := Parse([]byte("redis: {url: redis://x}\nstorage: {fileRoot: " + root + "}\n"))
		if err == nil || !strings.Contains(err.Error(), "storage.fileRoot: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("fileRoot %s: %v, want %q", root, err, want)
		}
	}
}

// The allow-lists name the file root to allow file:// (see storage.go).
func TestAllowListsNameTheFileRoot(t *testing.T) {
	dir := t.TempDir()
	c, err := Parse([]byte("redis: {url: redis://x}\nstorage: {fileRoot: " + dir + ", buckets: {read: [ocr-in, " + dir + "/], write: [ocr-out]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Storage.Buckets
	if !b.CanRead(dir) || b.CanWrite(dir) || !b.CanRead("ocr-in") {
		t.Errorf("allow-lists %+v", b)
	}
	for _, entry := range []string{"/elsewhere", "file://" + dir} {
		_, err := Parse([]byte("redis: {url: redis://x}\nstorage: {fileRoot: " + dir + ", buckets: {read: [\"" + entry + "\"]}}\n"))
		if err == nil || !strings.Contains(err.Error(), "storage.buckets.read:") {
			t.Errorf("entry %s: %v", entry, err)
		}
	}
}

func TestScheduleFileURIs(t *testing.T) {
	dir := t.TempDir()
	base := "redis: {url: redis://x}\nstorage: {fileRoot: " + dir + "}\nvendors:\n  c: {kind: clova-ocr, url: https://x.example.com/a}\nroutes: {receipt: c}\n"
	sched := func(src, out string) string {
		return base + "schedules:\n  - {cron: \"0 2 * * *\", type: receipt, source: \"" + src + "\", out: \"" + out + "\"}\n"
	}
	if _, err := Parse([]byte(sched("file://"+dir+"/in/", "file://"+dir+"/out/"))); err != nil {
		t.Errorf("file:// schedule: %v", err)
	}
	_, err := Parse([]byte(sched("file:///etc/", "file://"+dir+"/out/")))
	if err == nil || !strings.Contains(err.Error(), "schedules[0].source:") || !strings.Contains(err.Error(), "outside the file root") {
		t.Errorf("source outside the root: %v", err)
	}
}
