// Package client is the bilat tool's gRPC side: connections, calls with
// readable errors, the streaming import and health checks.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Options are the connection settings of every call.
type Options struct {
	// Token, when set, is sent as "authorization: Bearer <token>" metadata.
	Token string
	// CAFile, when set, turns TLS on and trusts the CA certificates in it
	// (PEM); without it the connection is plaintext.
	CAFile string
}

// Dial prepares a connection to addr; it connects lazily, so a server that
// is down shows up as an Unavailable error on the first call.
func Dial(addr string, opts ...Options) (*grpc.ClientConn, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	creds := insecure.NewCredentials()
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", o.CAFile)
		}
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	dopts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if o.Token != "" {
		// Interceptors rather than PerRPCCredentials: those refuse to send
		// a token over plaintext, and local stacks (make run) run without TLS.
		md := func(ctx context.Context) context.Context {
			return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+o.Token)
		}
		dopts = append(dopts,
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				return invoker(md(ctx), method, req, reply, cc, opts...)
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
				return streamer(md(ctx), desc, cc, method, opts...)
			}))
	}
	conn, err := grpc.NewClient(addr, dopts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return conn, nil
}

// transportFailure tells an Unavailable raised by the gRPC client (no
// connection: refused, reset, DNS, TLS handshake) from one the server sent.
func transportFailure(msg string) bool {
	for _, s := range []string{"connection error", "transport", "error reading from server", "connection closed",
		"name resolver", "connection failed", "server preface", "dial", "handshake", "EOF", "connection reset"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// WaitReady connects conn and waits until it is ready, failing with
// Unavailable at the first failed attempt (the address is wrong or the
// server is down) rather than retrying, so a watch that cannot start says
// so at once; once it runs, the watch itself reconnects.
func WaitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		st := conn.GetState()
		switch st {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure:
			return status.Error(codes.Unavailable, "connection failed")
		case connectivity.Shutdown:
			return status.Error(codes.Canceled, "connection closed")
		}
		if !conn.WaitForStateChange(ctx, st) {
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// CallError is a failed call with the service and address it went to, so
// the message tells the user where to look. It keeps the gRPC status.
type CallError struct {
	Service string // "ingest", "gateway"
	Addr    string
	Flag    string // the flag that sets Addr, e.g. "--server"
	// Timeout is the deadline the call had, named in DeadlineExceeded.
	Timeout time.Duration
	Err     error
}

func (e *CallError) Error() string {
	var gs interface{ GRPCStatus() *status.Status }
	if !errors.As(e.Err, &gs) {
		return e.Err.Error() // not from the call (a file error, say): nothing to add
	}
	st := gs.GRPCStatus()
	// Keep the caller's context ("import x.ndjson: ..."), which precedes
	// the status text in the wrapped message.
	prefix := strings.TrimSuffix(e.Err.Error(), st.Err().Error())
	if prefix == e.Err.Error() {
		prefix = ""
	}
	return prefix + Describe(st, e.Service, e.Addr, e.Flag, e.Timeout)
}

// Describe turns a gRPC status into a short message for people: what went
// wrong and what to do about it.
func Describe(st *status.Status, service, addr, flag string, timeout time.Duration) string {
	msg := st.Message()
	switch st.Code() {
	case codes.Unauthenticated:
		return fmt.Sprintf("token missing or invalid: set --token or BILAT_TOKEN (%s at %s: %s)", service, addr, msg)
	case codes.PermissionDenied:
		return fmt.Sprintf("permission denied: the token lacks the scope this call needs; ask the operator for one (%s at %s: %s)", service, addr, msg)
	case codes.NotFound:
		return msg
	case codes.InvalidArgument:
		vs := violations(st)
		if len(vs) == 0 {
			return msg
		}
		// grpcx puts the violations into the message too ("msg: f: d; g:
		// e"); drop that tail, each violation gets its own line below.
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = v.Field + ": " + v.Description
		}
		msg = strings.TrimSuffix(msg, ": "+strings.Join(parts, "; "))
		var b strings.Builder
		b.WriteString(msg + ":")
		for _, v := range vs {
			fmt.Fprintf(&b, "\n  %s: %s", v.Field, v.Description)
		}
		return b.String()
	case codes.ResourceExhausted:
		return fmt.Sprintf("rate limit or size limit reached at %s (%s): %s; wait a moment and retry, or ask for less", addr, service, msg)
	case codes.Unavailable:
		if !transportFailure(msg) {
			// The server answered, but a part it needs is down or not
			// configured: "cannot reach" would send the user the wrong way.
			return fmt.Sprintf("%s at %s is unavailable: %s (try again later, or ask the operator)", service, addr, msg)
		}
		return fmt.Sprintf("cannot reach %s (%s): is `make run` running? (or point %s at it) (%s)", addr, service, flag, msg)
	case codes.DeadlineExceeded:
		within := ""
		if timeout > 0 {
			within = " within " + timeout.String()
		}
		return fmt.Sprintf("%s at %s did not answer%s: raise --timeout (%s)", service, addr, within, msg)
	case codes.Canceled:
		return "interrupted"
	case codes.AlreadyExists, codes.FailedPrecondition:
		return msg
	}
	return fmt.Sprintf("%s at %s: %s: %s", service, addr, st.Code(), msg)
}

func (e *CallError) Unwrap() error { return e.Err }

// GRPCStatus lets status.Code and status.FromError see through the wrapper.
func (e *CallError) GRPCStatus() *status.Status {
	st, _ := status.FromError(e.Err)
	return st
}

// FieldViolation is one bad field named by the server.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// Violations extracts the errdetails.BadRequest field violations of a gRPC
// error; nil when there are none.
func Violations(err error) []FieldViolation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	return violations(st)
}

func violations(st *status.Status) []FieldViolation {
	var out []FieldViolation
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			out = append(out, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
		}
	}
	return out
}

// IsRPC reports whether err came from a gRPC call (carries a status).
func IsRPC(err error) bool {
	var gs interface{ GRPCStatus() *status.Status }
	return errors.As(err, &gs)
}

// IsInvalidArgument reports whether err is a gRPC InvalidArgument.
func IsInvalidArgument(err error) bool {
	return status.Code(err) == codes.InvalidArgument
}

// ErrNotServing is returned by Health when the server answers but is not
// (yet) ready.
var ErrNotServing = errors.New("not serving")

// Health asks a server's grpc.health.v1 service for the overall status
// (service name ""); nil means SERVING.
func Health(ctx context.Context, conn grpc.ClientConnInterface) error {
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%w: %s", ErrNotServing, resp.GetStatus())
	}
	return nil
}
