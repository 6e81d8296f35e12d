package testenv

import "syscall"

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
