package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"bilat.dev/pkg/localstack"
)

// The bench runs the NATS server inside its own process, as `make run`
// does (startInProcessNATS), or, with -nats-process, as a process of its
// own, as production does (startNATS): then the server's CPU time and
// peak RSS are figures of their own, and it shares neither its heap nor
// its scheduler with the load generators.

// startInProcessNATS starts the server inside this process and connects
// to it.
func startInProcessNATS(dir string) (*server.Server, *nats.Conn, error) {
	port, err := localstack.FreePort()
	if err != nil {
		return nil, nil, err
	}
	ns, err := localstack.StartNATS(localstack.NATSOptions{Port: port, StoreDir: filepath.Join(dir, "nats")})
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.Name("bilat-bench"))
	if err != nil {
		ns.Shutdown()
		return nil, nil, fmt.Errorf("connect nats: %w", err)
	}
	return ns, nc, nil
}

// natsEnv makes this binary the NATS server of a bench run: "<port>,<store
// dir>".
const natsEnv = "BILAT_BENCH_NATS"

// serveNATS runs the NATS server when natsEnv is set, until SIGTERM or
// until the bench that started it is gone; it returns false otherwise.
func serveNATS() bool {
	v := os.Getenv(natsEnv)
	if v == "" {
		return false
	}
	portS, dir, _ := strings.Cut(v, ",")
	port, err := strconv.Atoi(portS)
	if err != nil || dir == "" {
		fmt.Fprintf(os.Stderr, "nats: %s=%q: want <port>,<store dir>\n", natsEnv, v)
		os.Exit(2)
	}
	// The services drain against this server when the bench stops them.
	ctx, stop := childContext()
	defer stop()
	ns, err := localstack.StartNATS(localstack.NATSOptions{Port: port, StoreDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats:", err)
		os.Exit(1)
	}
	waitOrphaned(ctx)
	ns.Shutdown()
	ns.WaitForShutdown()
	return true
}

// childContext is the context of a process the bench started from its
// own binary (the NATS server, the relays): it ends on SIGTERM. Ctrl-C
// reaches the whole process group, but the bench stops its children
// itself, in order, so SIGINT is ignored.
func childContext() (context.Context, context.CancelFunc) {
	signal.Ignore(os.Interrupt)
	return signal.NotifyContext(context.Background(), syscall.SIGTERM)
}

// waitOrphaned returns when ctx ends or when the bench that started this
// process is gone (it was killed and could not stop its children).
func waitOrphaned(ctx context.Context) {
	parent := os.Getppid()
	for ctx.Err() == nil && os.Getppid() == parent {
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// startNATS starts this binary again as the run's NATS server (natsEnv)
// and connects to it.
func startNATS(ctx context.Context, dir string) (*proc, *nats.Conn, error) {
	port, err := localstack.FreePort()
	if err != nil {
		return nil, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("nats: %w", err)
	}
	p := &proc{
		name: "nats", bin: self, logPath: filepath.Join(dir, "nats.log"),
		env: []string{natsEnv + "=" + strconv.Itoa(port) + "," + filepath.Join(dir, "nats")},
	}
	if err := p.start(); err != nil {
		return nil, nil, err
	}
	var nc *nats.Conn
	err = p.waitReady(ctx, 20*time.Second, "accepting connections", func() (err error) {
		nc, err = nats.Connect("nats://127.0.0.1:"+strconv.Itoa(port), nats.Name("bilat-bench"))
		return err
	})
	if err != nil {
		_ = p.stop()
		return nil, nil, err
	}
	return p, nc, nil
}
