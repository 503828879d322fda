// Package grpcx is the gRPC server every service runs: recovery, logging
// and metrics interceptors, grpc.health.v1 that reflects real readiness,
// server reflection, and a bounded graceful stop.
package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/auth"
)

// Check reports whether a dependency is usable.
type Check func(ctx context.Context) error

// NATSCheck is ready while the connection is up.
func NATSCheck(nc *nats.Conn) Check {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	}
}

// RedisCheck is ready while Redis answers PING.
func RedisCheck(c *redis.Client) Check {
	return func(ctx context.Context) error {
		if err := c.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		return nil
	}
}

// Server wraps a grpc.Server with health and readiness.
type Server struct {
	log             *slog.Logger
	grpc            *grpc.Server
	health          *health.Server
	checks          []Check
	guard           *auth.Guard
	ShutdownTimeout time.Duration
	CheckInterval   time.Duration

	mu    sync.Mutex
	ready bool
}

var (
	metricRPCs = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "bilat_grpc_requests_total",
		Help: "gRPC calls by method and status code.",
	}, []string{"method", "code"})
	metricRPCSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bilat_grpc_request_seconds",
		Help:    "gRPC call latency by method.",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
	}, []string{"method"})
)

// NewServer builds a server with no edge settings (plaintext, open, no
// rate limit, default message sizes); readiness is the conjunction of checks.
func NewServer(log *slog.Logger, checks ...Check) *Server {
	return New(log, Edge{}, checks...)
}

// New builds the server with the edge settings applied; readiness is the
// conjunction of checks.
func New(log *slog.Logger, edge Edge, checks ...Check) *Server {
	s := &Server{
		log:             log,
		health:          health.NewServer(),
		checks:          checks,
		ShutdownTimeout: 15 * time.Second,
		CheckInterval:   time.Second,
		guard:           edge.Guard,
	}
	// Logging and recovery go first so that rejected calls are logged and
	// counted too; the guard runs before the limiter, which keys on the
	// client the guard identified.
	s.grpc = grpc.NewServer(append(edge.serverOptions(),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor, edge.Guard.Unary, edge.Limiter.Unary),
		grpc.ChainStreamInterceptor(s.streamInterceptor, edge.Guard.Stream, edge.Limiter.Stream),
	)...)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s
}

// GRPC is the server to register services on before Serve.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Serve listens on addr until ctx ends, then stops gracefully.
func (s *Server) Serve(ctx context.Context, addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("grpc listen %s: %w", addr, err)
	}
	return s.ServeListener(ctx, lis)
}

// ServeListener serves on lis until ctx ends, then marks the server not
// serving, lets in-flight calls finish (bounded by ShutdownTimeout) and
// returns.
func (s *Server) ServeListener(ctx context.Context, lis net.Listener) error {
	s.log.Info("grpc listening", "addr", lis.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(lis) }()
	hupCtx, stopHUP := context.WithCancel(ctx)
	defer stopHUP()
	go s.guard.ReloadOnSIGHUP(hupCtx, s.log)
	s.updateReadiness(ctx)
	ticker := time.NewTicker(s.CheckInterval)
	defer ticker.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("grpc serve: %w", err)
		case <-ticker.C:
			s.updateReadiness(ctx)
		case <-ctx.Done():
			s.Stop()
			if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				return fmt.Errorf("grpc serve: %w", err)
			}
			return nil
		}
	}
}

// Stop marks the server not serving and stops it gracefully, bounded by
// ShutdownTimeout.
func (s *Server) Stop() {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.ShutdownTimeout):
		s.log.Warn("graceful stop timed out; closing remaining calls")
		s.grpc.Stop()
	}
}

func (s *Server) updateReadiness(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var errs []error
	for _, c := range s.checks {
		if err := c(cctx); err != nil {
			errs = append(errs, err)
		}
	}
	ready := len(errs) == 0
	st := healthpb.HealthCheckResponse_SERVING
	if !ready {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	s.mu.Lock()
	changed := ready != s.ready
	s.ready = ready
	s.mu.Unlock()
	s.health.SetServingStatus("", st)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, st)
	}
	if changed {
		if ready {
			s.log.Info("ready")
		} else {
			s.log.Warn("not ready", "err", errors.Join(errs...))
		}
	}
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	ctx = auth.WithSlot(ctx)
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
		s.observe(ctx, info.FullMethod, start, err)
	}()
	return handler(ctx, req)
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	ss = auth.WrapStream(auth.WithSlot(ss.Context()), ss)
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in handler", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
		s.observe(ss.Context(), info.FullMethod, start, err)
	}()
	return handler(srv, ss)
}

func (s *Server) observe(ctx context.Context, method string, start time.Time, err error) {
	code := status.Code(err)
	d := time.Since(start)
	metricRPCs.WithLabelValues(method, code.String()).Inc()
	metricRPCSeconds.WithLabelValues(method).Observe(d.Seconds())
	lvl := slog.LevelDebug
	switch code {
	// ResourceExhausted is a client over its rate limit: a flood of them
	// must not flood the log too (bilat_grpc_requests_total counts them).
	case codes.OK, codes.NotFound, codes.InvalidArgument, codes.AlreadyExists, codes.Canceled, codes.ResourceExhausted:
	default:
		lvl = slog.LevelWarn
	}
	client, _ := auth.ClientFromContext(ctx)
	s.log.Log(ctx, lvl, "rpc", "method", method, "client", client, "code", code.String(), "duration", d, "err", err)
}
