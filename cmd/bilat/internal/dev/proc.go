package dev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Spec describes one child process.
type Spec struct {
	Name string
	Path string
	Args []string
	// Env is the complete environment of the child.
	Env []string
	// Output receives the child's stdout and stderr.
	Output io.Writer
}

// Proc is a running child process.
type Proc struct {
	Name     string
	cmd      *exec.Cmd
	done     chan struct{}
	err      error // set before done is closed
	stopping atomic.Bool
}

// PID is the child's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the child exited (nil for status 0); valid once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Stop sends SIGTERM and waits up to timeout for the child to exit, then
// kills its whole process group. killed tells whether SIGKILL was needed;
// err reports a non-zero exit after SIGTERM.
func (p *Proc) Stop(timeout time.Duration) (killed bool, err error) {
	p.stopping.Store(true)
	select {
	case <-p.done:
		return false, p.err
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return false, fmt.Errorf("signal %s: %w", p.Name, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return false, p.err
	case <-t.C:
	}
	killTree(p.cmd.Process)
	<-p.done
	return true, nil
}

// Group supervises children: it reports any child that exits on its own
// and stops them all in reverse start order.
type Group struct {
	mu     sync.Mutex
	procs  []*Proc
	exited chan *Proc
}

// NewGroup returns an empty group.
func NewGroup() *Group {
	// Buffered so a dying child never blocks on a reader that is busy.
	return &Group{exited: make(chan *Proc, 16)}
}

// Exited delivers each child that exits without having been asked to stop.
func (g *Group) Exited() <-chan *Proc { return g.exited }

// Start launches a child in its own process group, so a Ctrl-C on the
// terminal reaches only the supervisor, which then stops children in order.
func (g *Group) Start(s Spec) (*Proc, error) {
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Env = s.Env
	cmd.Stdout = s.Output
	cmd.Stderr = s.Output
	cmd.SysProcAttr = sysProcAttr()
	// Bound the wait for the output pipes if the child left descendants holding them.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", s.Name, s.Path, err)
	}
	p := &Proc{Name: s.Name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
		if !p.stopping.Load() {
			select {
			case g.exited <- p:
			default:
			}
		}
	}()
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	return p, nil
}

// StopResult is the outcome of stopping one child.
type StopResult struct {
	Name   string
	Killed bool
	Err    error
}

// StopAll stops the children one after another in reverse start order,
// each bounded by timeout; report (may be nil) is called before each stop
// and with its result.
func (g *Group) StopAll(timeout time.Duration, report func(name string, res *StopResult)) []StopResult {
	g.mu.Lock()
	procs := append([]*Proc(nil), g.procs...)
	g.mu.Unlock()
	// Mark every child first, so ones that exit while earlier ones stop are
	// not mistaken for crashes.
	for _, p := range procs {
		p.stopping.Store(true)
	}
	out := make([]StopResult, 0, len(procs))
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if report != nil {
			report(p.Name, nil)
		}
		killed, err := p.Stop(timeout)
		res := StopResult{Name: p.Name, Killed: killed, Err: err}
		if report != nil {
			report(p.Name, &res)
		}
		out = append(out, res)
	}
	return out
}
