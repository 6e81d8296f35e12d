package file

import (
	"os"
	"syscall"
)

// OnReadDir lets tests see which directories a listing reads.
func OnReadDir(b *Bucket, fn func(dir string)) { b.onReadDir = fn }

// NoHardLinks makes the bucket's link(2) fail as on FAT or exFAT.
func NoHardLinks(b *Bucket) {
	b.link = func(string, string) error { return &os.LinkError{Op: "link", Err: syscall.EPERM} }
}

// Unlisted reports whether listings skip a name.
func Unlisted(name string) bool { return unlisted(name) }
