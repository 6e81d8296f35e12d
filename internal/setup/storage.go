package setup

import (
	"context"
	"fmt"

	"github.com/ocrbatch/ocrworker/internal/config"
	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/file"
)

// withFiles adds the file store rooted at storage.fileRoot beside S3 and
// makes that root the process's (storage.SetFileRoot), so every file://
// URI this process parses is cut at the same root as the store serves.
func withFiles(c *config.Config, s3store storage.Store) (storage.Store, error) {
	root := c.Storage.Root()
	if _, err := storage.SetFileRoot(root); err != nil {
		return nil, fmt.Errorf("config: storage.fileRoot: %w", err)
	}
	files, err := file.New(file.Options{Root: root})
	if err != nil {
		return nil, err
	}
	return stores{Router: storage.Router{S3: s3store, File: files}, root: files.Bucket(storage.FileRoot()).Name(), probeS3: usesS3(c)}, nil
}

// stores is the Router plus what readiness should probe.
type stores struct {
	storage.Router
	root    string // the file store's bucket
	probeS3 bool
}

// usesS3 reports whether readiness should probe S3. A configuration that
// sets storage.fileRoot and nothing about S3 (endpoint, region) is taken
// for a file-only one (the demo, a NAS): probing S3 there would ask the
// AWS SDK's credential chain, which off EC2 waits on the instance metadata
// service and fails every probe. s3:// URIs still work; only /readyz does
// not vouch for S3.
func usesS3(c *config.Config) bool {
	s := c.Storage
	return s.FileRoot == "" || s.Endpoint != "" || s.Region != ""
}

// storesReady probes the file root (a stat below it) and, where used, S3.
// The probe runs aside so that a hung NFS mount, whose stat ignores the
// context, makes readiness fail at the deadline instead of hanging it.
func storesReady(ctx context.Context, store storage.Store) error {
	probe := func(b storage.Bucket) error {
		done := make(chan error, 1)
		go func() {
			_, err := b.Head(ctx, "ocr-readiness-probe")
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil && storage.IsTransient(err) {
				return fmt.Errorf("storage: %w", err)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("storage %s: no answer: %w", b.Name(), ctx.Err())
		}
	}
	st, ok := store.(stores)
	if !ok {
		return probe(store.Bucket("ocr-readiness-probe"))
	}
	if err := probe(st.Bucket(st.root)); err != nil {
		return err
	}
	if st.probeS3 {
		return probe(st.Bucket("ocr-readiness-probe"))
	}
	return nil
}
