package localstack

import (
	"os/exec"
	"syscall"
)

// detach puts the child in its own process group, so a terminal's Ctrl-C
// reaches only the parent (which stops Redis after the services that use
// it), and has the kernel kill it if the parent dies without stopping it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
