package ports

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/proto/openapi"
)

// HTTPAPI serves the public API as HTTP/JSON: grpc-gateway routes (from
// proto/bilat/v1/http.yaml) that call the gateway's own gRPC listener, so
// every HTTP request passes the same auth, rate-limit, validation and
// logging interceptors as a gRPC call. Streaming RPCs answer with one JSON
// object per line.
type HTTPAPI struct {
	log    *slog.Logger
	srv    *http.Server
	cancel context.CancelFunc // ends open watch streams on Stop
}

// HTTPAPIOptions configures NewHTTPAPI.
type HTTPAPIOptions struct {
	// Conn reaches the gateway's own gRPC server.
	Conn *grpc.ClientConn
	// TLS serves HTTPS when set.
	TLS *tls.Config
	// CORSOrigins lists the origins browsers may call from ("*" for any);
	// empty sends no CORS headers (same-origin only).
	CORSOrigins []string
}

// NewHTTPAPI builds the HTTP/JSON server; Serve starts it.
func NewHTTPAPI(log *slog.Logger, o HTTPAPIOptions) (*HTTPAPI, error) {
	base, cancel := context.WithCancel(context.Background())
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			},
		}),
	)
	for name, register := range map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		"AgreementService": bilatv1.RegisterAgreementServiceHandler,
		"TradeService":     bilatv1.RegisterTradeServiceHandler,
		"PartnerService":   bilatv1.RegisterPartnerServiceHandler,
	} {
		if err := register(base, mux, o.Conn); err != nil {
			cancel()
			return nil, fmt.Errorf("register %s HTTP routes: %w", name, err)
		}
	}
	root := http.NewServeMux()
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Swagger)
	})
	root.Handle("/v1/", mux)
	h := &HTTPAPI{log: log, cancel: cancel}
	h.srv = &http.Server{
		Handler:           cors(o.CORSOrigins, root),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         o.TLS,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	return h, nil
}

// Serve answers on lis until Stop; it returns nil after a clean stop.
func (h *HTTPAPI) Serve(lis net.Listener) error {
	if h.srv.TLSConfig != nil {
		lis = tls.NewListener(lis, h.srv.TLSConfig)
	}
	h.log.Info("http/json api listening", "addr", lis.Addr().String(), "tls", h.srv.TLSConfig != nil)
	if err := h.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http api serve: %w", err)
	}
	return nil
}

// Stop stops taking requests, lets unary ones finish within ctx and ends
// the open watch streams (their clients resume from the last position).
// It runs before the gRPC server stops, since every request goes through it.
func (h *HTTPAPI) Stop(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Warn("http api shutdown", "err", err)
		}
	}()
	// Streams never go idle, so Shutdown would wait for them until ctx
	// ends: give unary requests a moment, then end the streams.
	select {
	case <-done:
	case <-time.After(time.Second):
		h.cancel()
		<-done
	}
	h.cancel()
}

// cors answers browser preflight requests and marks responses readable by
// the allowed origins. The API is read-only over HTTP and authenticates with
// a bearer header, never cookies, so credentials are not allowed.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	allowed := func(origin string) bool {
		for _, o := range origins {
			if o == "*" || strings.EqualFold(o, origin) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && allowed(origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.Header().Set("Access-Control-Allow-Methods", "GET, OPTIONS")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Grpc-Timeout")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
