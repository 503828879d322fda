package grpcx

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"bilat.dev/pkg/auth"
	"bilat.dev/pkg/config"
	"bilat.dev/pkg/ratelimit"
	"bilat.dev/pkg/tlsx"
)

// DefaultMaxMsgBytes is the message size limit when none is configured.
const DefaultMaxMsgBytes = 4 << 20

// StreamWorkers is how many goroutines each server keeps to run calls.
// A call on a fresh goroutine grows its stack again (the gateway's list
// and series handlers spent about 8 % of their CPU copying stacks,
// docs/benchmarks.md); a worker keeps its grown stack. Calls beyond this
// many at once get a goroutine of their own, as without workers, so it
// bounds nothing but the goroutines kept idle.
const StreamWorkers = 64

// Edge is what a server applies to every call from outside: TLS, bearer
// token auth, a per-client rate limit and a message size limit. The zero
// value is plaintext, open, unlimited, with default message sizes.
type Edge struct {
	TLS         *tls.Config        // nil: plaintext
	Guard       *auth.Guard        // nil: no auth
	Limiter     *ratelimit.Limiter // nil: no rate limit
	MaxMsgBytes int                // 0: DefaultMaxMsgBytes
}

// EdgeFrom builds the edge from the common settings; policy is the
// service's method→scope map.
func EdgeFrom(c config.Common, policy auth.Policy, log *slog.Logger) (Edge, error) {
	t, err := c.ServerTLS()
	if err != nil {
		return Edge{}, err
	}
	g, err := auth.NewGuard(c.AuthTokensFile, policy, log)
	if err != nil {
		return Edge{}, err
	}
	if c.MaxMsgBytes < 0 {
		return Edge{}, fmt.Errorf("max message size %d: must not be negative", c.MaxMsgBytes)
	}
	if t != nil {
		log.Info("tls enabled", "cert", c.TLSCert)
	}
	return Edge{TLS: t, Guard: g, Limiter: ratelimit.New(c.RateLimit, c.RateBurst), MaxMsgBytes: c.MaxMsgBytes}, nil
}

func (e Edge) maxMsg() int {
	if e.MaxMsgBytes > 0 {
		return e.MaxMsgBytes
	}
	return DefaultMaxMsgBytes
}

func (e Edge) serverOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(e.maxMsg()), grpc.MaxSendMsgSize(e.maxMsg()),
		grpc.NumStreamWorkers(StreamWorkers),
	}
	if e.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(e.TLS)))
	}
	return opts
}

// ClientOptions configure a service-to-service client.
type ClientOptions struct {
	// TLS, when set, secures the connection; nil is plaintext.
	TLS *tls.Config
	// MaxMsgBytes bounds messages both ways; 0 is DefaultMaxMsgBytes.
	MaxMsgBytes int
}

// ClientOptionsFrom builds client options from the common settings: TLS
// when --tls-ca is set.
func ClientOptionsFrom(c config.Common) (ClientOptions, error) {
	t, err := c.ClientTLS()
	if err != nil {
		return ClientOptions{}, err
	}
	return ClientOptions{TLS: t, MaxMsgBytes: c.MaxMsgBytes}, nil
}

// Dial returns a client of the service at addr. The connection is made
// lazily, so services start in any order. Calls made with the context of an
// incoming call forward its authorization metadata, so the original
// caller's identity and scopes apply downstream; its deadline travels with
// the context.
func Dial(addr string, opts ClientOptions) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if opts.TLS != nil {
		creds = credentials.NewTLS(opts.TLS)
	}
	maxMsg := opts.MaxMsgBytes
	if maxMsg <= 0 {
		maxMsg = DefaultMaxMsgBytes
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
		grpc.WithChainUnaryInterceptor(forwardAuthUnary),
		grpc.WithChainStreamInterceptor(forwardAuthStream),
	)
	if err != nil {
		return nil, fmt.Errorf("grpc client %s: %w", addr, err)
	}
	return conn, nil
}

// forwardAuth copies the incoming call's authorization to the outgoing
// one, unless the caller set one of its own.
func forwardAuth(ctx context.Context) context.Context {
	in, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	vals := in.Get("authorization")
	if len(vals) == 0 {
		return ctx
	}
	if out, ok := metadata.FromOutgoingContext(ctx); ok && len(out.Get("authorization")) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", vals[0])
}

func forwardAuthUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(forwardAuth(ctx), method, req, reply, cc, opts...)
}

func forwardAuthStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(forwardAuth(ctx), desc, cc, method, opts...)
}

// SelfClientOptions are the options for dialling this process's own gRPC
// listener over loopback, such as an HTTP/JSON proxy in front of it: TLS
// pinned to the listener's own certificate when the edge serves TLS.
func SelfClientOptions(e Edge) ClientOptions {
	return ClientOptions{TLS: tlsx.SelfClient(e.TLS), MaxMsgBytes: e.MaxMsgBytes}
}
