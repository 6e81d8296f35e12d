package testenv

// pid is the server's process id, 0 when it is not running.
func (s *server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Pid is redis-server's process id (0 when stopped), for resource
// measurements such as make bench's CPU split.
func (r *Redis) Pid() int { return r.srv.pid() }

// Pid is MinIO's process id (0 when stopped).
func (m *MinIO) Pid() int { return m.srv.pid() }
