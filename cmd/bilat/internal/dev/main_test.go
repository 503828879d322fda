package dev

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"bilat.dev/cmd/bilat/internal/testsrv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// The test binary doubles as the fake processes the supervisor runs,
// chosen by BILAT_DEVTEST_ROLE:
//   - child: records the SIGTERM it gets (or ignores it, or crashes);
//   - supervisor: runs a Group of children until SIGINT, like `bilat dev`;
//   - service: a fake Bilat service (gRPC health, ingest/gateway APIs).
//
// Every fake writes what happens to it into $BILAT_DEVTEST_DIR/order.
const (
	envRole      = "BILAT_DEVTEST_ROLE"
	envDir       = "BILAT_DEVTEST_DIR"
	envName      = "BILAT_DEVTEST_NAME"
	envMode      = "BILAT_DEVTEST_MODE"
	envUnhealthy = "BILAT_DEVTEST_UNHEALTHY"
	envCrash     = "BILAT_DEVTEST_CRASH"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "child":
		os.Exit(fakeChild())
	case "supervisor":
		os.Exit(fakeSupervisor())
	case "service":
		os.Exit(fakeService())
	}
	os.Exit(m.Run())
}

// record appends one line to the shared order file (O_APPEND: one write
// per line keeps lines whole across processes).
func record(dir, line string) {
	f, err := os.OpenFile(filepath.Join(dir, "order"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "record:", err)
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line + "\n")
}

func markReady(dir, name string) {
	_ = os.WriteFile(filepath.Join(dir, name+".ready"), nil, 0o644)
}

func fakeChild() int {
	dir, name := os.Getenv(envDir), os.Getenv(envName)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	fmt.Printf("%s up\npartial line without newline", name)
	markReady(dir, name)
	switch os.Getenv(envMode) {
	case "crash":
		time.Sleep(50 * time.Millisecond)
		return 3
	case "ignore":
		for range term {
			record(dir, name+":ignored")
		}
		return 0
	}
	<-term
	// A short pause makes out-of-order stops visible if Stop did not wait.
	time.Sleep(30 * time.Millisecond)
	record(dir, name+":TERM")
	return 0
}

var serviceNames = []string{"ingest", "enrichment", "statistics", "gateway"}

func childSpec(exe, dir, name, mode string) Spec {
	return Spec{
		Name: name, Path: exe,
		Env:    append(os.Environ(), envRole+"=child", envDir+"="+dir, envName+"="+name, envMode+"="+mode),
		Output: os.Stdout,
	}
}

func fakeSupervisor() int {
	dir := os.Getenv(envDir)
	exe, err := os.Executable()
	if err != nil {
		return 10
	}
	ctxSig := make(chan os.Signal, 1)
	signal.Notify(ctxSig, syscall.SIGINT, syscall.SIGTERM)
	g := NewGroup()
	for _, n := range serviceNames {
		if _, err := g.Start(childSpec(exe, dir, n, "term")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 11
		}
		if !waitFile(filepath.Join(dir, n+".ready"), 10*time.Second) {
			return 12
		}
	}
	markReady(dir, "supervisor")
	select {
	case <-ctxSig:
	case p := <-g.Exited():
		fmt.Fprintln(os.Stderr, p.Name, "exited")
		return 13
	}
	for _, r := range g.StopAll(5*time.Second, nil) {
		if r.Err != nil || r.Killed {
			fmt.Fprintln(os.Stderr, "stop", r.Name, r.Err, r.Killed)
			return 14
		}
	}
	record(dir, "supervisor:done")
	return 0
}

func waitFile(path string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// fakeService stands in for a Bilat service binary: it is started through
// a symlink named after the service, with the flags `bilat dev` passes.
func fakeService() int {
	name := filepath.Base(os.Args[0])
	dir := os.Getenv(envDir)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	addr := fs.String("grpc-addr", "", "")
	fs.String("http-addr", "", "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if os.Getenv("BILAT_NATS_URL") == "" || os.Getenv("BILAT_REDIS_URL") == "" {
		fmt.Fprintln(os.Stderr, "missing BILAT_NATS_URL / BILAT_REDIS_URL")
		return 2
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)

	srv := testsrv.New()
	countFile := filepath.Join(dir, "agreements")
	switch name {
	case "ingest":
		srv.OnAgreement = func(a *bilatv1.Agreement) {
			f, err := os.OpenFile(countFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err == nil {
				_, _ = f.WriteString(a.GetId() + "\n")
				f.Close()
			}
		}
	case "gateway":
		// The "pipeline" shows agreements a moment after ingest took them.
		srv.Total = func() int64 {
			b, _ := os.ReadFile(countFile)
			return int64(strings.Count(string(b), "\n"))
		}
	}
	if os.Getenv(envUnhealthy) == name {
		srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	g := grpc.NewServer()
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	fmt.Printf("fake %s listening on %s\n", name, *addr)
	fmt.Fprintf(os.Stderr, "fake %s: stderr works too\n", name)

	// The service named in envCrash dies once the test creates "crash-now".
	crash := make(chan struct{})
	if os.Getenv(envCrash) == name {
		go func() {
			waitFile(filepath.Join(dir, "crash-now"), time.Hour)
			close(crash)
		}()
	}
	select {
	case <-term:
		record(dir, name+":TERM")
		g.GracefulStop()
		return 0
	case <-crash:
		fmt.Fprintln(os.Stderr, "fake crash")
		return 4
	}
}
