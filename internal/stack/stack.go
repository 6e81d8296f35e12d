// Package stack runs the whole product locally on real parts: redis-server,
// MinIO, the vendor emulator and the built producer, worker and dashboard
// binaries, all on free loopback ports. The end-to-end tests, `make demo`
// and `make bench` share it, so what the demo shows is what the tests test.
package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ocrbatch/ocrworker/internal/redisconn"
	"github.com/ocrbatch/ocrworker/internal/storage/s3"
	"github.com/ocrbatch/ocrworker/internal/testenv"
)

// Binaries built by Build.
var Binaries = []string{"producer", "worker", "emulator", "dashboard"}

var (
	buildMu sync.Mutex
	built   = map[string]string{} // dir and binaries -> the folder they were built into
	last    string                // the folder of the latest Build: New runs those binaries
)

// Build compiles the binaries once per process into a temporary folder
// (or dir, when set) and returns that folder.
func Build(dir string) (string, error) { return BuildOnly(dir, Binaries...) }

// BuildOnly is Build of some binaries (the demo builds only what it runs),
// once per process for each dir and list. New runs the latest build's
// binaries, or builds them all when there is none.
func BuildOnly(dir string, names ...string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	key := dir + "\x00" + strings.Join(names, ",")
	if d, ok := built[key]; ok {
		last = d
		return d, nil
	}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ocr-bin-"); err != nil {
			return "", err
		}
	}
	// No symbol table or DWARF: nobody debugs these binaries, and linking
	// three large ones without them is seconds faster on a cold demo.
	args := []string{"build", "-ldflags=-s -w", "-o", dir + "/"}
	for _, b := range names {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = testenv.ModuleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	built[key], last = dir, dir
	return dir, nil
}

// binaries is the folder New runs binaries from.
func binaries() (string, error) {
	buildMu.Lock()
	d := last
	buildMu.Unlock()
	if d != "" {
		return d, nil
	}
	return Build("")
}

// Stack is one running local stack.
type Stack struct {
	Dir   string // everything it writes: data, logs, config
	Bin   string
	Redis *testenv.Redis // the single Redis; nil with Options.Redis cluster or sentinel
	// Cluster or Sentinel is the Redis of Options.Redis "cluster" or
	// "sentinel" (nil otherwise).
	Cluster  *testenv.RedisCluster
	Sentinel *testenv.RedisSentinel
	// RedisMode and RedisURL are what the config says (redis.mode, redis.url).
	RedisMode string
	RedisURL  string
	MinIO     *testenv.MinIO // nil with Options.Files
	Store     *s3.Store      // nil with Options.Files
	// FileRoot is storage.fileRoot with Options.Files: Dir/files.
	FileRoot string
	Emulator *Proc
	// EmulatorURL is the emulator's base URL, e.g. http://127.0.0.1:40123.
	EmulatorURL string
	// Secrets are the vendor credentials, random per stack so tests can
	// prove they never reach a log.
	Secrets    map[string]string
	ConfigPath string

	mu    sync.Mutex
	procs []*Proc
}

// Options tune New.
type Options struct {
	// EmulatorArgs are extra emulator flags (latency, rps, faults).
	EmulatorArgs []string
	// Config overrides the generated configuration (see DefaultConfig).
	Config string
	// Files runs on file storage (FileConfig, a directory as
	// storage.fileRoot) instead of MinIO, which is then not started.
	Files bool
	// Redis is "" (one redis-server), "cluster" (3 primaries, 3 replicas)
	// or "sentinel" (a primary, a replica, three sentinels).
	Redis string
}

// New starts Redis, MinIO and the emulator in dir and writes a config.
func New(ctx context.Context, dir string, o Options) (s *Stack, err error) {
	bin, err := binaries()
	if err != nil {
		return nil, err
	}
	s = &Stack{Dir: dir, Bin: bin, Secrets: map[string]string{
		"CLOVA_OCR_SECRET":  "clova-" + randomHex(12),
		"CLOVA_EKYC_SECRET": "ekyc-" + randomHex(12),
		"NHN_OCR_APPKEY":    "appkey" + randomHex(6),
		"NHN_OCR_SECRET":    "nhn-" + randomHex(12),
	}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err = s.startRedis(filepath.Join(dir, "redis"), o.Redis); err != nil {
		return s, err
	}
	cfg := o.Config
	if o.Files {
		if s.FileRoot, err = filepath.Abs(filepath.Join(dir, "files")); err != nil {
			return s, err
		}
		if err = os.MkdirAll(s.FileRoot, 0o755); err != nil {
			return s, err
		}
		if cfg == "" {
			cfg = FileConfig
		}
	} else {
		if s.MinIO, err = testenv.RunMinIO(filepath.Join(dir, "minio")); err != nil {
			return s, err
		}
		if s.Store, err = s.MinIO.Store(ctx); err != nil {
			return s, err
		}
	}
	if err = s.StartEmulator(o.EmulatorArgs...); err != nil {
		return s, err
	}
	if cfg == "" {
		cfg = DefaultConfig
	}
	if err = s.WriteConfig(cfg); err != nil {
		return s, err
	}
	return s, nil
}

func (s *Stack) startRedis(dir, kind string) (err error) {
	switch kind {
	case "":
		if s.Redis, err = testenv.RunRedis(dir); err != nil {
			return err
		}
		s.RedisMode, s.RedisURL = redisconn.ModeSingle, s.Redis.URL
	case "cluster":
		if s.Cluster, err = testenv.RunRedisCluster(dir); err != nil {
			return err
		}
		s.RedisMode, s.RedisURL = redisconn.ModeCluster, s.Cluster.URL
	case "sentinel":
		if s.Sentinel, err = testenv.RunRedisSentinel(dir); err != nil {
			return err
		}
		s.RedisMode, s.RedisURL = redisconn.ModeSingle, s.Sentinel.URL
	default:
		return fmt.Errorf("stack: unknown Redis kind %q", kind)
	}
	return nil
}

// RedisClient opens a go-redis client on the stack's Redis, whatever its
// kind; the caller closes it.
func (s *Stack) RedisClient() (redis.UniversalClient, error) {
	_, rdb, err := redisconn.Open(s.RedisMode, s.RedisURL)
	return rdb, err
}

// DefaultConfig routes every type to the emulator. {{EMU}} and {{REDIS}}
// are filled in by WriteConfig; secrets come from the environment.
const DefaultConfig = `
redis:
  url: {{REDIS}}
storage:
  endpoint: {{S3}}
  region: us-east-1
  pathStyle: true
vendors:
  clova:
    kind: clova-ocr
    url: {{EMU}}/clova-ocr
    secret: ${CLOVA_OCR_SECRET}
    mode: multipart
    rateLimit: {rps: 200, burst: 50}
    concurrency: 16
    timeout: 10s
  clova-json:
    kind: clova-ocr
    url: {{EMU}}/clova-ocr
    secret: ${CLOVA_OCR_SECRET}
    mode: json
    rateLimit: {rps: 200, burst: 50}
    concurrency: 16
    timeout: 10s
  ekyc:
    kind: clova-ekyc
    url: {{EMU}}/ekyc
    secret: ${CLOVA_EKYC_SECRET}
    rateLimit: {rps: 200, burst: 50}
    timeout: 10s
  nhn:
    kind: nhn-ocr
    url: {{EMU}}/nhn
    appKey: ${NHN_OCR_APPKEY}
    secret: ${NHN_OCR_SECRET}
    rateLimit: {rps: 200, burst: 50}
    timeout: 10s
routes:
  receipt: clova
  credit-card: clova
  name-card: clova
  biz-license: clova
  id-card: clova
  medical-receipt: clova
  passport: clova
  face-compare: ekyc
worker:
  concurrency: 16
  maxRetry: 3
  shutdownTimeout: 10s
  maxImageBytes: 2097152
  unknownGrace: 2s # one config for every process: no other worker to wait for
`

// FileConfig is DefaultConfig on file storage: {{FILES}} is the stack's
// FileRoot.
var FileConfig = strings.Replace(DefaultConfig, "storage:\n  endpoint: {{S3}}\n  region: us-east-1\n  pathStyle: true\n",
	"storage:\n  fileRoot: {{FILES}}\n", 1)

// WriteConfig writes the config file with the stack's addresses filled in.
func (s *Stack) WriteConfig(cfg string) error {
	s3URL := ""
	if s.MinIO != nil {
		s3URL = s.MinIO.Endpoint
	}
	redisURL := s.RedisURL
	if s.RedisMode == redisconn.ModeCluster {
		// Configs name Redis as "url: {{REDIS}}"; the mode goes beside it.
		redisURL += "\n  mode: " + redisconn.ModeCluster
	}
	r := strings.NewReplacer("{{REDIS}}", redisURL, "{{S3}}", s3URL, "{{EMU}}", s.EmulatorURL, "{{FILES}}", s.FileRoot)
	s.ConfigPath = filepath.Join(s.Dir, "config.yaml")
	return os.WriteFile(s.ConfigPath, []byte(r.Replace(cfg)), 0o600)
}

// Env is the environment of the product's binaries: config, S3
// credentials (the AWS SDK's default chain) and vendor secrets.
func (s *Stack) Env() []string {
	env := append(os.Environ(), "OCR_CONFIG="+s.ConfigPath, "AWS_EC2_METADATA_DISABLED=true")
	if s.MinIO != nil {
		env = append(env, "AWS_ACCESS_KEY_ID="+s.MinIO.AccessKey, "AWS_SECRET_ACCESS_KEY="+s.MinIO.SecretKey, "AWS_REGION=us-east-1")
	}
	for k, v := range s.Secrets {
		env = append(env, k+"="+v)
	}
	return env
}

// StartEmulator (re)starts the emulator with extra flags.
func (s *Stack) StartEmulator(args ...string) error {
	if s.Emulator != nil {
		s.Emulator.Stop()
	}
	addrFile := filepath.Join(s.Dir, "emulator.addr")
	os.Remove(addrFile)
	addr := "127.0.0.1:0"
	if s.EmulatorURL != "" {
		addr = strings.TrimPrefix(s.EmulatorURL, "http://") // keep the port the config names
	}
	full := append([]string{"--addr", addr, "--addr-file", addrFile,
		"--clova-secret", s.Secrets["CLOVA_OCR_SECRET"],
		"--ekyc-secret", s.Secrets["CLOVA_EKYC_SECRET"],
		"--nhn-appkey", s.Secrets["NHN_OCR_APPKEY"],
		"--nhn-secret", s.Secrets["NHN_OCR_SECRET"]}, args...)
	p, err := s.Start("emulator", full...)
	if err != nil {
		return err
	}
	s.Emulator = p
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addrFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			s.EmulatorURL = "http://" + string(bytes.TrimSpace(b))
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("emulator exited:\n%s", p.LogTail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("emulator did not start within 20s")
}

// Start runs one of the built binaries in the background with the stack's
// environment; its output goes to Dir/<name>-N.log.
func (s *Stack) Start(name string, args ...string) (*Proc, error) {
	s.mu.Lock()
	n := len(s.procs)
	s.mu.Unlock()
	logPath := filepath.Join(s.Dir, fmt.Sprintf("%s-%d.log", name, n))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(s.Bin, name), args...)
	cmd.Env = s.Env()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// StartWorker starts a worker process.
func (s *Stack) StartWorker(args ...string) (*Proc, error) { return s.Start("worker", args...) }

// Run runs a binary to completion and returns its stdout, stderr and exit code.
func (s *Stack) Run(ctx context.Context, name string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.Bin, name), args...)
	cmd.Env = s.Env()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return o.String(), e.String(), exit.ExitCode(), nil
	}
	return o.String(), e.String(), 0, err
}

// Logs returns every log line the stack's processes wrote so far.
func (s *Stack) Logs() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all strings.Builder
	for _, p := range s.procs {
		b, err := os.ReadFile(p.LogPath)
		if err != nil {
			return "", err
		}
		all.Write(b)
	}
	return all.String(), nil
}

// EmulatorAdmin calls the emulator's admin API for a vendor ("clova-ocr",
// "ekyc", "nhn"): method, path like "stats" or "behavior", optional body.
func (s *Stack) EmulatorAdmin(ctx context.Context, method, vendor, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.EmulatorURL+"/_emulator/"+vendor+"/"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("emulator admin %s %s: %s: %s", method, path, resp.Status, b.String())
	}
	return b.Bytes(), err
}

// Close stops every process, the emulator, MinIO and Redis.
func (s *Stack) Close() {
	s.mu.Lock()
	procs := s.procs
	s.mu.Unlock()
	for _, p := range procs {
		p.Stop()
	}
	if s.MinIO != nil {
		s.MinIO.Stop()
	}
	if s.Redis != nil {
		s.Redis.Stop()
	}
	if s.Cluster != nil {
		s.Cluster.Stop()
	}
	if s.Sentinel != nil {
		s.Sentinel.Stop()
	}
}

// Proc is a running binary.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string
	done    chan struct{}
	err     error
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to end, at most d, and returns its error.
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("%s still running after %s", p.Name, d)
	}
}

// Stop sends SIGTERM and waits up to 30s, then kills.
func (p *Proc) Stop() {
	if p.Exited() {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	if p.Wait(30*time.Second) != nil {
		p.Kill()
	}
}

// Kill sends SIGKILL (kill -9) and waits.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// LogTail returns the last n lines of the process's log.
func (p *Proc) LogTail(n int) string {
	b, _ := os.ReadFile(p.LogPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
