package testenv

import "syscall"

// procAttr makes the kernel kill a server if the test process dies without
// cleaning up (a panic, a -timeout), so no stray servers hold ports.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
