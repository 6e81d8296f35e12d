package storage

import "sync/atomic"

// The file root is process configuration (storage.fileRoot), like a
// working directory: a task carries its URIs as text, and every place that
// turns one into a bucket and key (the producer's checks and listings, the
// worker's job, schedules) must cut file:// paths at the same root, or a
// result would land at another key than the producer looks for. So it is
// set once, at start (internal/setup), and ParseURI reads it; code that
// needs another root says so with ParseURIRoot.
var fileRoot atomic.Pointer[string]

// SetFileRoot sets the root ParseURI cuts file:// paths at ("" is "/").
// It returns the previous root so tests can restore it.
func SetFileRoot(root string) (previous string, err error) {
	clean, err := CleanFileRoot(root)
	if err != nil {
		return FileRoot(), err
	}
	if old := fileRoot.Swap(&clean); old != nil {
		return *old, nil
	}
	return "/", nil
}

// FileRoot is the root ParseURI uses: the one SetFileRoot set, else "/".
func FileRoot() string {
	if p := fileRoot.Load(); p != nil {
		return *p
	}
	return "/"
}
