package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocrbatch/ocrworker/internal/storage"
	"github.com/ocrbatch/ocrworker/internal/storage/s3"
)

// MinIO is a single-drive MinIO server child process with its data in Dir.
// Credentials are random per instance.
type MinIO struct {
	Endpoint  string // http://host:port
	AccessKey string
	SecretKey string
	Dir       string // data, certs and log directory

	srv *server
}

// StartMinIO starts MinIO for a test and stops it on cleanup. A missing
// binary fails the test: run `make deps` or set MINIO_BIN.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	m, err := RunMinIO(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("minio log tail:\n%s", m.LogTail(20))
		}
		m.Stop()
	})
	return m
}

// RunMinIO starts MinIO on a free loopback port with its data under dir and
// waits for /minio/health/live. The caller calls Stop.
//
// The binary is $MINIO_BIN, else <module root>/.cache/bin/minio (built by
// `make deps`), else minio on PATH.
func RunMinIO(dir string) (*MinIO, error) {
	var candidates []string
	if root := ModuleRoot(); root != "" {
		candidates = append(candidates, filepath.Join(root, ".cache", "bin", "minio"))
	}
	bin, err := findBinary("minio", "MINIO_BIN", candidates...)
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("minio: free port: %w", err)
	}
	consolePort, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("minio: free port: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dataDir, certsDir := filepath.Join(dir, "data"), filepath.Join(dir, "certs")
	for _, d := range []string{dataDir, certsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("minio: %w", err)
		}
	}
	m := &MinIO{
		Endpoint:  "http://" + loopback(port),
		AccessKey: "testenv" + randomHex(6),
		SecretKey: randomHex(20),
		Dir:       dir,
	}
	m.srv = &server{
		name: "minio",
		bin:  bin,
		args: []string{
			"server", dataDir,
			"--address", loopback(port),
			"--console-address", loopback(consolePort),
			"--certs-dir", certsDir, // not ~/.minio/certs
			"--quiet",
		},
		env: []string{
			"MINIO_ROOT_USER=" + m.AccessKey,
			"MINIO_ROOT_PASSWORD=" + m.SecretKey,
			"MINIO_BROWSER=off",
			"MINIO_UPDATE=off",
			"MINIO_CI_CD=on", // allow a data dir on the root disk
		},
		logPath: filepath.Join(dir, "minio.log"),
	}
	if err := m.start(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *MinIO) start() error {
	if err := m.srv.start(); err != nil {
		return err
	}
	if err := m.srv.waitReady(m.live); err != nil {
		m.srv.stop()
		return err
	}
	return nil
}

// Restart stops MinIO and starts it again on the same port with the same
// data directory; objects written before are still there.
func (m *MinIO) Restart() error {
	m.srv.stop()
	return m.start()
}

// Stop shuts MinIO down and waits for it; calling it twice is fine.
func (m *MinIO) Stop() { m.srv.stop() }

// LogTail returns the last n lines of the server log.
func (m *MinIO) LogTail(n int) string { return m.srv.LogTail(n) }

// Options are the S3 client settings for this server.
func (m *MinIO) Options() s3.Options {
	return s3.Options{
		Endpoint:  m.Endpoint,
		Region:    "us-east-1",
		PathStyle: true,
		AccessKey: m.AccessKey,
		SecretKey: m.SecretKey,
	}
}

// Store returns an S3 store talking to this server.
func (m *MinIO) Store(ctx context.Context) (*s3.Store, error) {
	return s3.New(ctx, m.Options())
}

// CreateBucket creates a bucket (if needed) and returns it.
func (m *MinIO) CreateBucket(ctx context.Context, name string) (storage.Bucket, error) {
	store, err := m.Store(ctx)
	if err != nil {
		return nil, err
	}
	if err := store.CreateBucket(ctx, name); err != nil {
		return nil, err
	}
	return store.Bucket(name), nil
}

// NewBucket creates a bucket for a test, failing the test on error.
func (m *MinIO) NewBucket(t testing.TB, name string) storage.Bucket {
	t.Helper()
	b, err := m.CreateBucket(t.Context(), name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return b
}

// live asks the liveness probe (the HTTP server is up), the readiness
// probe, and then the S3 API itself: on a loaded machine the readiness
// probe answered 200 while S3 calls still met 503
// XMinioServerNotInitialized (seen in CI). An anonymous ListBuckets ("/")
// is refused with 403 once the object layer is up, and 503 before.
func (m *MinIO) live(ctx context.Context) error {
	for _, probe := range []string{"/minio/health/live", "/minio/health/ready", "/"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+probe, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if probe == "/" {
			if resp.StatusCode == http.StatusServiceUnavailable {
				return fmt.Errorf("the S3 API answered %s", resp.Status)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", probe, resp.Status)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
