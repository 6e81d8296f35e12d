package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Redis is a redis-server child process with its data in Dir. AOF is on, so
// Restart keeps every acknowledged write.
type Redis struct {
	Addr string // host:port
	URL  string // redis://host:port/0
	Dir  string // data and log directory

	srv *server
}

// StartRedis starts redis-server for a test and stops it on cleanup. A
// missing binary fails the test: run `make deps` or set REDIS_SERVER_BIN.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r, err := RunRedis(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("redis log tail:\n%s", r.LogTail(20))
		}
		r.Stop()
	})
	return r
}

// RunRedis starts redis-server on a free loopback port with its data in dir
// and waits until it answers PING. The caller calls Stop.
func RunRedis(dir string) (*Redis, error) {
	r, err := newRedis(dir)
	if err != nil {
		return nil, err
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// newRedis prepares (does not start) a redis-server on a free loopback
// port with its data in dir; extra arguments follow the defaults.
func newRedis(dir string, extra ...string) (*Redis, error) {
	bin, err := findBinary("redis-server", "REDIS_SERVER_BIN")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("redis: free port: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--appendonly", "yes",
		"--appendfsync", "everysec", // Stop sends SIGTERM, and Redis flushes the AOF on a clean shutdown
		"--save", "", // AOF only; no RDB snapshots competing for the disk
		"--daemonize", "no",
		"--loglevel", "notice",
	}
	return &Redis{
		Addr: loopback(port),
		URL:  "redis://" + loopback(port) + "/0",
		Dir:  dir,
		srv: &server{
			name:    "redis-server",
			bin:     bin,
			args:    append(args, extra...),
			logPath: filepath.Join(dir, "redis.log"),
		},
	}, nil
}

func (r *Redis) start() error {
	if err := r.srv.start(); err != nil {
		return err
	}
	if err := r.srv.waitReady(r.ping); err != nil {
		r.srv.stop()
		return err
	}
	return nil
}

// Restart stops the server cleanly and starts it again on the same port
// with the same data directory, so data written before is still there.
func (r *Redis) Restart() error {
	r.srv.stop()
	return r.start()
}

// Stop shuts the server down and waits for it; calling it twice is fine.
func (r *Redis) Stop() { r.srv.stop() }

// LogTail returns the last n lines of the server log.
func (r *Redis) LogTail(n int) string { return r.srv.LogTail(n) }

// ping speaks just enough RESP to ask PING; the server is ready once it
// answers +PONG (not -LOADING while it replays the AOF).
func (r *Redis) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
