// Package localstack starts real NATS (in-process, with JetStream) and
// redis-server (a child process) on this machine, for `bilat dev` and for
// tests. Nothing here is a fake: these are the production servers.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/redisx"
)

// NATSOptions configures an in-process NATS server with JetStream.
type NATSOptions struct {
	Host     string
	Port     int
	StoreDir string
	// SyncInterval is how often JetStream fsyncs; 0 keeps the server default
	// (2 minutes) and a negative value syncs every write (safest, slowest).
	SyncInterval time.Duration
	// Logs routes the server's own log lines to stderr.
	Logs bool
}

// StartNATS starts the server and returns once it accepts connections.
func StartNATS(opts NATSOptions) (*server.Server, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.StoreDir == "" {
		return nil, errors.New("start nats: a store dir is required")
	}
	so := &server.Options{
		ServerName:             "bilat-local",
		Host:                   opts.Host,
		Port:                   opts.Port,
		JetStream:              true,
		StoreDir:               opts.StoreDir,
		NoSigs:                 true,
		NoLog:                  !opts.Logs,
		MaxPayload:             8 << 20,
		DisableJetStreamBanner: true,
	}
	switch {
	case opts.SyncInterval < 0:
		so.SyncAlways = true
	case opts.SyncInterval > 0:
		so.SyncInterval = opts.SyncInterval
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	if opts.Logs {
		srv.ConfigureLogger()
	}
	srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("start nats: not ready on %s:%d after 15s", opts.Host, opts.Port)
	}
	return srv, nil
}

// RedisOptions configures a redis-server child process.
type RedisOptions struct {
	Port int
	// Dir is the working directory (and data directory when Persist).
	Dir string
	// Persist turns on the append-only file with fsync every second, so the
	// projections survive a restart; tests run without it.
	Persist bool
	LogFile string
}

// RedisProcess is a running redis-server.
type RedisProcess struct {
	cmd     *exec.Cmd
	port    int
	exited  chan struct{} // closed when the process has exited
	waitErr error
}

// RedisServerPath finds redis-server, or says exactly how to install it.
func RedisServerPath() (string, error) {
	if p := os.Getenv("BILAT_REDIS_SERVER"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("redis-server not found: install it with `sudo apt-get install -y redis-server` (make test and make run do this when run as root), or set BILAT_REDIS_SERVER to its path")
}

// StartRedis starts redis-server and returns once it answers PING.
func StartRedis(ctx context.Context, opts RedisOptions) (*RedisProcess, error) {
	bin, err := RedisServerPath()
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("start redis: a dir is required")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	args := []string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(opts.Port),
		"--dir", dir, "--daemonize", "no", "--protected-mode", "yes",
		"--save", "",
		// Stored records are a few hundred bytes of protobuf: a larger
		// listpack limit keeps their hashes compact (about 25 % less memory
		// per agreement, docs/benchmarks.md).
		"--hash-max-listpack-value", "1024",
		// A listpack finds a field by walking its entries: past 64 fields
		// (a partner's current trade figures) a hash table answers a
		// series' HMGET with a quarter less Redis CPU.
		"--hash-max-listpack-entries", "64",
	}
	if opts.Persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	} else {
		args = append(args, "--appendonly", "no")
	}
	logFile := opts.LogFile
	if logFile == "" {
		logFile = filepath.Join(dir, "redis.log")
	}
	args = append(args, "--logfile", logFile)
	cmd := exec.Command(bin, args...)
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis: %w", err)
	}
	p := &RedisProcess{cmd: cmd, port: opts.Port, exited: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), Protocol: redisx.Protocol})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return p, nil
		}
		select {
		case <-p.exited:
			log, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("start redis on port %d: exited (%v): %s", opts.Port, p.waitErr, tail(string(log), 800))
		case <-ctx.Done():
			_ = p.Stop()
			return nil, fmt.Errorf("start redis: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = p.Stop()
			return nil, fmt.Errorf("start redis on port %d: no answer after 15s (log %s)", opts.Port, logFile)
		}
	}
}

// Addr is host:port of the server.
func (p *RedisProcess) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// URL is the redis:// URL of the server.
func (p *RedisProcess) URL() string { return "redis://" + p.Addr() + "/0" }

// Stop asks the server to shut down (writing its append-only file) and
// waits for it; it kills the process if it does not exit in time. Stopping
// a stopped server is a no-op.
func (p *RedisProcess) Stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	// No retries: SHUTDOWN drops the connection, and a retrying client
	// would only log dial errors against the stopped server.
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, Protocol: redisx.Protocol})
	_ = c.Shutdown(context.Background()).Err() // the connection drops: the error is expected
	_ = c.Close()
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("redis on port %d did not stop in 10s; killed", p.port)
	}
}

// Kill stops the server abruptly, as a crash would; killing a stopped
// server is a no-op.
func (p *RedisProcess) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// FreePort returns a TCP port that was free a moment ago on 127.0.0.1 and
// that this process has not handed out before: the kernel may offer a just
// released port again, and two servers given the same one would collide.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port, nil
		}
	}
	return 0, errors.New("free port: the kernel kept offering ports already handed out")
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
