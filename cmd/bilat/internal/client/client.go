// Package client is the bilat tool's gRPC side: connections, calls with
// readable errors, the streaming import and health checks.
package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Dial prepares a plaintext connection to addr; it connects lazily, so a
// server that is down shows up as an Unavailable error on the first call.
func Dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return conn, nil
}

// CallError is a failed call with the service and address it went to, so
// the message tells the user where to look. It keeps the gRPC status.
type CallError struct {
	Service string // "ingest", "gateway"
	Addr    string
	Flag    string // the flag that sets Addr, e.g. "--gateway"
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
	var text string
	switch st.Code() {
	case codes.Unavailable:
		text = fmt.Sprintf("%s at %s is unavailable: %s (is the stack running? start it with `bilat dev`, or point %s at it)",
			e.Service, e.Addr, st.Message(), e.Flag)
	case codes.Canceled:
		text = "interrupted"
	case codes.DeadlineExceeded:
		text = fmt.Sprintf("%s at %s did not answer in time (raise --timeout): %s", e.Service, e.Addr, st.Message())
	case codes.NotFound, codes.InvalidArgument, codes.AlreadyExists, codes.FailedPrecondition:
		text = st.Message()
	default:
		text = fmt.Sprintf("%s at %s: %s: %s", e.Service, e.Addr, st.Code(), st.Message())
	}
	return prefix + text
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
