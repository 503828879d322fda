// Package lifecycle runs a service's servers and stops them in the order
// that loses nothing: consumers drain first (their in-flight message
// finishes and is acked), then gRPC stops gracefully, then the ops
// endpoint. Connections the caller closes with defer go last.
package lifecycle

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/ops"
)

// Drainer is something that stops taking work and finishes what it has,
// such as a *natsx.Consumer.
type Drainer interface {
	Stop(ctx context.Context)
}

// Service is what Run runs.
type Service struct {
	Log *slog.Logger
	// GRPC serves on Listener; listen before starting consumers so a taken
	// port fails the start instead of leaving a half-started service.
	GRPC     *grpcx.Server
	Listener net.Listener
	// HTTPAddr is the ops endpoint (metrics, pprof); empty disables it.
	HTTPAddr string
	// HTTPTLS, when set, serves the ops endpoint over TLS (grpcx.Edge.TLS).
	HTTPTLS *tls.Config
	// Drain is stopped first, in order.
	Drain []Drainer
	// ShutdownTimeout bounds draining.
	ShutdownTimeout time.Duration
}

// Run serves until ctx ends or a server fails, then shuts down in order.
func Run(ctx context.Context, s Service) error {
	// Each server gets a context of its own so shutdown stops them in order.
	grpcCtx, stopGRPC := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGRPC()
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()
	grpcDone := make(chan error, 1)
	go func() { grpcDone <- s.GRPC.ServeListener(grpcCtx, s.Listener) }()
	opsDone := make(chan error, 1)
	go func() { opsDone <- ops.ServeTLS(opsCtx, s.HTTPAddr, s.HTTPTLS, s.Log) }()
	s.Log.Info("started", "grpc", s.Listener.Addr().String(), "http", s.HTTPAddr)

	var errs []error
	select {
	case <-ctx.Done():
	case err := <-grpcDone:
		errs = append(errs, fmt.Errorf("grpc server stopped: %w", err))
		grpcDone = nil
	case err := <-opsDone:
		errs = append(errs, fmt.Errorf("ops server stopped: %w", err))
		opsDone = nil
	}
	s.Log.Info("shutting down")
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	dctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, d := range s.Drain {
		d.Stop(dctx)
	}
	stopGRPC()
	if grpcDone != nil {
		if err := <-grpcDone; err != nil {
			errs = append(errs, err)
		}
	}
	stopOps()
	if opsDone != nil {
		if err := <-opsDone; err != nil {
			errs = append(errs, err)
		}
	}
	s.Log.Info("stopped")
	return errors.Join(errs...)
}

// Listen claims the gRPC address.
func Listen(addr string) (net.Listener, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("grpc listen %s: %w", addr, err)
	}
	return lis, nil
}
