package testenv

import (
	"context"
	"fmt"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// kill ends the server with SIGKILL, as a crash would: nothing is flushed
// (Redis loses what its AOF had not written yet), and waits for it.
func (s *server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd, s.done = nil, nil
}

// Kill ends redis-server with SIGKILL (a crash); Restart starts it again
// on the same port with what its AOF holds.
func (r *Redis) Kill() { r.srv.kill() }

// Running reports whether the server process is up.
func (r *Redis) Running() bool { return r.srv.pid() != 0 }

// Freeze stops redis-server with SIGSTOP: it neither answers nor takes in
// replication until Thaw. A frozen replica lets a test make its primary
// acknowledge writes that no replica has, as asynchronous replication
// does under load, before killing the primary.
func (r *Redis) Freeze() { r.srv.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen redis-server (SIGCONT).
func (r *Redis) Thaw() { r.srv.signal(syscall.SIGCONT) }

func (s *server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(sig)
	}
}

// DropReplicaLinks closes the primary's connections to its replicas
// (CLIENT KILL TYPE replica). With the replica frozen it cannot reconnect,
// so whatever the primary acknowledges next reaches no replica: a frozen
// replica alone would still find the writes in its socket buffer on Thaw.
func (r *Redis) DropReplicaLinks(ctx context.Context) error {
	_, err := nodeCmd(ctx, r, func(c *redis.Client) (string, error) {
		n, err := c.ClientKillByFilter(ctx, "TYPE", "replica").Result()
		return fmt.Sprint(n), err
	})
	return err
}
