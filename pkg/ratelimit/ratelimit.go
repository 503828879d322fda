// Package ratelimit limits gRPC calls per client with a token bucket each:
// a client is the authenticated token's name, else the peer's IP, or, for a
// call arriving over loopback with x-forwarded-for (the gateway's HTTP/JSON
// proxy dials its own gRPC port), the address that proxy saw. A streaming
// call counts once, when it is opened.
package ratelimit

import (
	"context"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"bilat.dev/pkg/auth"
)

// Limiter holds one bucket per client. A nil *Limiter lets every call through.
type Limiter struct {
	limit rate.Limit
	burst int
	// idle is how long a bucket goes unused before it is dropped: by then
	// it has refilled completely, so dropping it changes no decision.
	idle time.Duration

	mu        sync.Mutex
	clients   map[string]*bucket
	lastSweep time.Time
	now       func() time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New limits each client to perSecond calls a second with bursts of burst;
// burst <= 0 means ceil(perSecond), at least 1. perSecond <= 0 returns nil
// (no limit).
func New(perSecond float64, burst int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	refill := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &Limiter{
		limit:   rate.Limit(perSecond),
		burst:   burst,
		idle:    max(refill, time.Minute),
		clients: map[string]*bucket{},
		now:     time.Now,
	}
}

// Allow takes one call from key's bucket; when the bucket is empty it
// returns false and how long until a call would be allowed.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.clients[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops idle buckets at most once per idle period, so memory follows
// the number of recently active clients.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.idle {
		return
	}
	l.lastSweep = now
	for k, b := range l.clients {
		if now.Sub(b.seen) >= l.idle {
			delete(l.clients, k)
		}
	}
}

// Len is the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// Key names the client of a call; see the package comment.
func Key(ctx context.Context) string {
	if name, ok := auth.ClientFromContext(ctx); ok {
		return "client:" + name
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	ip := p.Addr.String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.IsLoopback() {
		// Only a local proxy can be trusted to say whom it forwards for, and
		// only about the hop it saw itself: grpc-gateway appends the HTTP
		// peer to whatever X-Forwarded-For the client sent, so the earlier
		// entries are the client's to invent (a new one per call would dodge
		// the limit). The last entry is the proxy's own observation.
		md, _ := metadata.FromIncomingContext(ctx)
		if xff := md.Get("x-forwarded-for"); len(xff) > 0 {
			v := xff[len(xff)-1]
			if last := strings.TrimSpace(v[strings.LastIndexByte(v, ',')+1:]); last != "" {
				return "ip:" + last
			}
		}
	}
	return "ip:" + ip
}

func (l *Limiter) check(ctx context.Context, method string) error {
	// Probes must not be starved by a busy client sharing their address.
	if l == nil || auth.Open(method) {
		return nil
	}
	ok, wait := l.Allow(Key(ctx))
	if ok {
		return nil
	}
	st := status.New(codes.ResourceExhausted, "rate limit exceeded; retry after "+wait.Round(time.Millisecond).String())
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); err == nil {
		st = d
	}
	return st.Err()
}

// Unary is the unary server interceptor; it must run after the auth guard
// so that the client's name is known.
func (l *Limiter) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := l.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the stream server interceptor: a stream counts once, when opened.
func (l *Limiter) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := l.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}
