//go:build !linux

package localstack

import "os/exec"

// detach is a no-op where process groups and parent-death signals differ.
func detach(*exec.Cmd) {}
