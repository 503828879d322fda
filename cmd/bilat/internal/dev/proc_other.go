//go:build !linux

package dev

import (
	"os"
	"syscall"
)

// sysProcAttr has no portable process-group setting outside Linux here;
// children share the supervisor's group.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killTree kills the child.
func killTree(p *os.Process) { _ = p.Kill() }
