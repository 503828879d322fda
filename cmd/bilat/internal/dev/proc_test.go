package dev

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readOrder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "order"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func testExe(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestGroupStopsInReverseStartOrder(t *testing.T) {
	dir := t.TempDir()
	exe := testExe(t)
	g := NewGroup()
	var out bytes.Buffer
	sw := NewSyncWriter(&out)
	for _, n := range serviceNames {
		spec := childSpec(exe, dir, n, "term")
		pw := NewPrefixWriter(sw, n, 10)
		spec.Output = pw
		if _, err := g.Start(spec); err != nil {
			t.Fatal(err)
		}
		if !waitFile(filepath.Join(dir, n+".ready"), 10*time.Second) {
			t.Fatalf("%s never got ready", n)
		}
	}
	var reported []string
	res := g.StopAll(5*time.Second, func(name string, r *StopResult) {
		if r == nil {
			reported = append(reported, "stop:"+name)
		}
	})
	want := []string{"gateway:TERM", "statistics:TERM", "enrichment:TERM", "ingest:TERM"}
	if got := readOrder(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("stop order %v, want %v", got, want)
	}
	if strings.Join(reported, " ") != "stop:gateway stop:statistics stop:enrichment stop:ingest" {
		t.Errorf("reported %v", reported)
	}
	for _, r := range res {
		if r.Err != nil || r.Killed {
			t.Errorf("%s: err %v killed %v", r.Name, r.Err, r.Killed)
		}
	}
	select {
	case p := <-g.Exited():
		t.Errorf("%s reported as unexpected exit after a requested stop", p.Name)
	default:
	}
	if !strings.Contains(out.String(), "gateway    | gateway up\n") {
		t.Errorf("prefixed output missing:\n%s", out.String())
	}
}

func TestStopKillsChildThatIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	g := NewGroup()
	p, err := g.Start(childSpec(testExe(t), dir, "stubborn", "ignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !waitFile(filepath.Join(dir, "stubborn.ready"), 10*time.Second) {
		t.Fatal("child never got ready")
	}
	start := time.Now()
	killed, err := p.Stop(300 * time.Millisecond)
	if !killed {
		t.Errorf("want SIGKILL after the timeout (err %v)", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("Stop took %s", d)
	}
	if got := readOrder(t, dir); len(got) != 1 || got[0] != "stubborn:ignored" {
		t.Errorf("child should have seen SIGTERM first: %v", got)
	}
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("exit: %v", p.Err())
	}
}

func TestGroupReportsUnexpectedExit(t *testing.T) {
	dir := t.TempDir()
	g := NewGroup()
	if _, err := g.Start(childSpec(testExe(t), dir, "fragile", "crash")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-g.Exited():
		var ee *exec.ExitError
		if p.Name != "fragile" || !errors.As(p.Err(), &ee) || ee.ExitCode() != 3 {
			t.Errorf("got %s %v", p.Name, p.Err())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("crash not reported")
	}
	// Stopping an already dead child returns at once with its exit error.
	res := g.StopAll(time.Second, nil)
	if len(res) != 1 || res[0].Killed || res[0].Err == nil {
		t.Errorf("StopAll after crash: %+v", res)
	}
}

func TestStartMissingBinary(t *testing.T) {
	_, err := NewGroup().Start(Spec{Name: "ghost", Path: filepath.Join(t.TempDir(), "ghost")})
	if err == nil || !strings.Contains(err.Error(), "start ghost") {
		t.Errorf("got %v", err)
	}
}

// TestSIGINTIsForwardedInOrder runs a supervisor process (this test binary)
// with four children, sends it SIGINT as a terminal's Ctrl-C would, and
// checks it stops the children one by one, last started first, and exits 0.
func TestSIGINTIsForwardedInOrder(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(testExe(t), "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"=supervisor", envDir+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitFile(filepath.Join(dir, "supervisor.ready"), 20*time.Second) {
		_ = cmd.Process.Kill()
		t.Fatalf("supervisor not ready:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("supervisor exit: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("supervisor did not exit:\n%s", out.String())
	}
	want := "gateway:TERM statistics:TERM enrichment:TERM ingest:TERM supervisor:done"
	if got := strings.Join(readOrder(t, dir), " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewPrefixWriter(&out, "gw", 5)
	for _, s := range []string{"hel", "lo\nwor", "ld\n\nlast"} {
		if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := out.String(); got != "gw    | hello\ngw    | world\ngw    | \n" {
		t.Errorf("before flush: %q", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasSuffix(got, "gw    | last\n") {
		t.Errorf("after flush: %q", got)
	}
	if err := w.Flush(); err != nil || strings.Count(out.String(), "last") != 1 {
		t.Errorf("second flush repeated output")
	}
	out.Reset()
	long := strings.Repeat("x", 70*1024)
	_, _ = w.Write([]byte(long))
	if !strings.HasPrefix(out.String(), "gw    | xxx") || !strings.HasSuffix(out.String(), "x\n") {
		t.Errorf("long partial line not written out")
	}
}
