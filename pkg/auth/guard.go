package auth

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Policy maps gRPC methods to the scope they need. A key ending in "/"
// ("/bilat.v1.TradeService/") covers every method of that service, so
// methods added later are protected too; a full method name
// ("/bilat.v1.StatisticsService/RebuildProjections") overrides it. A method
// the policy does not cover is denied.
type Policy map[string]Scope

// Required returns the scope method needs, or false when the policy does
// not cover it.
func (p Policy) Required(method string) (Scope, bool) {
	if s, ok := p[method]; ok {
		return s, true
	}
	if i := strings.LastIndexByte(method, '/'); i > 0 {
		s, ok := p[method[:i+1]]
		return s, ok
	}
	return "", false
}

// Open reports whether method needs no token: health checks and reflection,
// so probes and grpcurl work without one.
func Open(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1.ServerReflection/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1alpha.ServerReflection/")
}

// Guard authenticates calls against a token file and authorises them
// against a Policy. A nil *Guard lets every call through.
type Guard struct {
	path   string
	policy Policy
	tokens atomic.Pointer[Tokens]
}

// NewGuard loads the token file at path. An empty path means auth is off:
// it returns nil and logs a warning, since an open API is then a choice the
// operator should see.
func NewGuard(path string, policy Policy, log *slog.Logger) (*Guard, error) {
	if path == "" {
		log.Warn("auth disabled: no --auth-tokens-file; every caller may call every method")
		return nil, nil
	}
	g := &Guard{path: path, policy: policy}
	if err := g.Reload(); err != nil {
		return nil, err
	}
	log.Info("auth enabled", "tokens_file", path, "clients", g.tokens.Load().Len())
	return g, nil
}

// NewGuardWith builds a guard over tokens already parsed (tests, embedding).
func NewGuardWith(t *Tokens, policy Policy) *Guard {
	g := &Guard{policy: policy}
	g.tokens.Store(t)
	return g
}

// Reload re-reads the token file; on error the old tokens stay in force.
func (g *Guard) Reload() error {
	t, err := LoadFile(g.path)
	if err != nil {
		return err
	}
	g.tokens.Store(t)
	return nil
}

// Check authenticates and authorises one call, returning ctx carrying the
// client's name.
func (g *Guard) Check(ctx context.Context, method string) (context.Context, error) {
	if g == nil || Open(method) {
		return ctx, nil
	}
	tok, ok := bearer(ctx)
	if !ok {
		return ctx, status.Error(codes.Unauthenticated, "missing bearer token: send metadata \"authorization: Bearer <token>\"")
	}
	c := g.tokens.Load().Lookup(tok)
	if c == nil {
		return ctx, status.Error(codes.Unauthenticated, "invalid bearer token")
	}
	ctx = WithClient(ctx, c.Name)
	need, ok := g.policy.Required(method)
	if !ok {
		return ctx, status.Errorf(codes.PermissionDenied, "method %s is not open to any scope", method)
	}
	if !c.Has(need) {
		return ctx, status.Errorf(codes.PermissionDenied, "client %q lacks scope %q required by %s", c.Name, need, method)
	}
	return ctx, nil
}

func bearer(ctx context.Context) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok && strings.EqualFold(scheme, "bearer") {
			if tok = strings.TrimSpace(tok); tok != "" {
				return tok, true
			}
		}
	}
	return "", false
}

// Unary is the unary server interceptor.
func (g *Guard) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := g.Check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the stream server interceptor.
func (g *Guard) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := g.Check(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, WrapStream(ctx, ss))
}

// WrapStream returns ss answering ctx from Context.
func WrapStream(ctx context.Context, ss grpc.ServerStream) grpc.ServerStream {
	if ctx == ss.Context() {
		return ss
	}
	return &stream{ServerStream: ss, ctx: ctx}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
