package dev

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group (Ctrl-C goes to the
// supervisor only) and has the kernel SIGKILL it if the supervisor dies
// without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killTree kills the child's whole process group.
func killTree(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		_ = p.Kill()
	}
}
