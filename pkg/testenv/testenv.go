// Package testenv gives tests real servers: an in-process NATS server with
// JetStream and a redis-server process, each on a free port, each torn
// down when the test ends. Tests never skip for a missing server: a missing
// redis-server fails the test with the install command.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/localstack"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/redisx"
)

// NATSServer is a running JetStream server and a connection to it.
type NATSServer struct {
	URL      string
	Conn     *nats.Conn
	JS       jetstream.JetStream
	Server   *server.Server
	port     int
	storeDir string
}

// NATS starts a JetStream server for the test.
func NATS(t testing.TB) *NATSServer {
	t.Helper()
	port := FreePort(t)
	n := &NATSServer{port: port, storeDir: t.TempDir()}
	n.start(t)
	t.Cleanup(func() {
		n.Conn.Close()
		n.Server.Shutdown()
		n.Server.WaitForShutdown()
	})
	return n
}

func (n *NATSServer) start(t testing.TB) {
	t.Helper()
	srv, err := localstack.StartNATS(localstack.NATSOptions{Port: n.port, StoreDir: n.storeDir})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	n.Server = srv
	n.URL = srv.ClientURL()
	if n.Conn == nil {
		nc, err := nats.Connect(n.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			t.Fatalf("testenv: connect nats: %v", err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatalf("testenv: jetstream: %v", err)
		}
		n.Conn, n.JS = nc, js
	}
}

// Restart shuts the server down and starts it again on the same port with
// the same store; connections reconnect by themselves.
func (n *NATSServer) Restart(t testing.TB) {
	t.Helper()
	n.Server.Shutdown()
	n.Server.WaitForShutdown()
	n.start(t)
}

// EnsureStreams creates Bilat's streams with the given settings.
func (n *NATSServer) EnsureStreams(t testing.TB, cfg natsx.StreamsConfig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := natsx.EnsureStreams(ctx, n.JS, cfg); err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// StreamMsgs returns the number of messages a stream holds. It asks
// again for up to 15 s: a request sent as the client reconnects after a
// Restart can go unanswered while the server recovers its streams.
func (n *NATSServer) StreamMsgs(t testing.TB, stream string) uint64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs, err := n.streamMsgs(stream)
		if err == nil {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitConsumed waits until the durable consumer has been delivered every
// message the stream held when the wait began, and has acked or
// terminated each one (none waits for redelivery). It compares stream
// sequences rather than trusting NumPending alone, which can read zero for
// a moment after a publish has its PubAck but before the consumer has
// counted the message.
func (n *NATSServer) WaitConsumed(t testing.TB, stream, durable string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := n.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("testenv: stream %s: %v", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("testenv: stream info %s: %v", stream, err)
	}
	last := info.State.LastSeq
	c, err := s.Consumer(ctx, durable)
	if err != nil {
		t.Fatalf("testenv: consumer %s on %s: %v", durable, stream, err)
	}
	Eventually(t, timeout, fmt.Sprintf("consumer %s to be done with %s up to #%d", durable, stream, last), func() bool {
		ci, err := c.Info(ctx)
		return err == nil && ci.Delivered.Stream >= last && ci.NumAckPending == 0 && ci.NumPending == 0 && ci.NumRedelivered == 0
	})
}

func (n *NATSServer) streamMsgs(stream string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := n.JS.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream info %s: %w", stream, err)
	}
	return info.State.Msgs, nil
}

// RedisServer is a running redis-server and a client for it.
type RedisServer struct {
	URL     string
	Addr    string
	Client  *redis.Client
	Process *localstack.RedisProcess
}

// Redis starts a redis-server for the test.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	port := FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := localstack.StartRedis(ctx, localstack.RedisOptions{Port: port, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), Protocol: redisx.Protocol})
	t.Cleanup(func() {
		_ = c.Close()
		p.Kill()
	})
	return &RedisServer{URL: p.URL(), Addr: p.Addr(), Client: c, Process: p}
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := localstack.FreePort()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return p
}

// Logger returns a logger that writes through t.Log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// Eventually polls cond until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
