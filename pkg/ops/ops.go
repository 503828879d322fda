// Package ops serves the operator endpoints on a port apart from gRPC:
// Prometheus metrics, pprof and a liveness probe.
package ops

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the mux with /metrics, /debug/pprof/ and /healthz.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// ServeTLS serves Handler on addr until ctx ends, over TLS when tlsConf is
// not nil; an empty addr disables it.
func ServeTLS(ctx context.Context, addr string, tlsConf *tls.Config, log *slog.Logger) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ops listen %s: %w", addr, err)
	}
	if tlsConf != nil {
		lis = tls.NewListener(lis, tlsConf)
	}
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 5 * time.Second, TLSConfig: tlsConf}
	log.Info("ops http listening", "addr", lis.Addr().String(), "tls", tlsConf != nil)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ops serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("ops shutdown: %w", err)
		}
		return nil
	}
}
