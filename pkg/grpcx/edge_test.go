package grpcx_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/auth"
	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/ratelimit"
	"bilat.dev/pkg/testenv"
)

// testService answers who called (Username), how the rate limiter keys the
// call (ServerId) and whether a deadline arrived (OauthScope); with next set
// it asks next instead, as the gateway asks statistics.
type testService struct {
	testpb.UnimplementedTestServiceServer
	next testpb.TestServiceClient
}

func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if s.next != nil {
		return s.next.UnaryCall(ctx, req)
	}
	name, _ := auth.ClientFromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	resp := &testpb.SimpleResponse{Username: name, ServerId: ratelimit.Key(ctx)}
	if hasDeadline {
		resp.OauthScope = "deadline"
	}
	if n := req.GetResponseSize(); n > 0 {
		resp.Payload = &testpb.Payload{Body: make([]byte, n)}
	}
	return resp, nil
}

func (s *testService) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (s *testService) StreamingInputCall(st testpb.TestService_StreamingInputCallServer) error {
	total := 0
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return st.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(m.GetPayload().GetBody())
	}
}

type unimplemented struct {
	testpb.UnimplementedUnimplementedServiceServer
}

func (unimplemented) UnimplementedCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

// policy: reading is UnaryCall (via the service prefix), EmptyCall is an
// admin's and the client stream needs publish; UnimplementedService is not
// listed, so it is denied.
var policy = auth.Policy{
	"/grpc.testing.TestService/":                   auth.Read,
	"/grpc.testing.TestService/EmptyCall":          auth.Admin,
	"/grpc.testing.TestService/StreamingInputCall": auth.Publish,
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func testTokens(t *testing.T) *auth.Tokens {
	t.Helper()
	tok, err := auth.Parse(strings.NewReader(`
# name scopes secret
reader    read           ` + sha("reader-token") + `
publisher publish        publisher-token
operator  read,admin     ` + sha("operator-token") + `
`))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// serve runs a grpcx server with edge on a free loopback port until the
// test ends.
func serve(t *testing.T, edge grpcx.Edge, svc *testService) string {
	t.Helper()
	s := grpcx.New(testenv.Logger(t), edge)
	testpb.RegisterTestServiceServer(s.GRPC(), svc)
	testpb.RegisterUnimplementedServiceServer(s.GRPC(), unimplemented{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return lis.Addr().String()
}

func dial(t *testing.T, addr string, opts grpcx.ClientOptions) *grpc.ClientConn {
	t.Helper()
	conn, err := grpcx.Dial(addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("%s: code %v, want %v (err %v)", what, got, want, err)
	}
}

func TestAuthScopes(t *testing.T) {
	addr := serve(t, grpcx.Edge{Guard: auth.NewGuardWith(testTokens(t), policy)}, &testService{})
	conn := dial(t, addr, grpcx.ClientOptions{})
	c := testpb.NewTestServiceClient(conn)
	ctx := t.Context()

	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	wantCode(t, "no token", err, codes.Unauthenticated)
	_, err = c.UnaryCall(withToken(ctx, "guessed"), &testpb.SimpleRequest{})
	wantCode(t, "bad token", err, codes.Unauthenticated)
	bad := metadata.AppendToOutgoingContext(ctx, "authorization", "Basic reader-token")
	_, err = c.UnaryCall(bad, &testpb.SimpleRequest{})
	wantCode(t, "not a bearer token", err, codes.Unauthenticated)

	_, err = c.EmptyCall(withToken(ctx, "reader-token"), &testpb.Empty{})
	wantCode(t, "read token on admin method", err, codes.PermissionDenied)
	if msg := status.Convert(err).Message(); !strings.Contains(msg, `"admin"`) {
		t.Fatalf("PermissionDenied should name the scope needed: %q", msg)
	}
	_, err = c.UnaryCall(withToken(ctx, "publisher-token"), &testpb.SimpleRequest{})
	wantCode(t, "publish token on read method", err, codes.PermissionDenied)

	resp, err := c.UnaryCall(withToken(ctx, "reader-token"), &testpb.SimpleRequest{})
	wantCode(t, "read token on read method", err, codes.OK)
	if resp.GetUsername() != "reader" {
		t.Fatalf("handler saw client %q, want reader", resp.GetUsername())
	}
	_, err = c.EmptyCall(withToken(ctx, "operator-token"), &testpb.Empty{})
	wantCode(t, "admin token on admin method", err, codes.OK)

	// Streams: checked when opened.
	st, err := c.StreamingInputCall(ctx)
	if err == nil {
		_, err = st.CloseAndRecv()
	}
	wantCode(t, "stream without token", err, codes.Unauthenticated)
	st, err = c.StreamingInputCall(withToken(ctx, "publisher-token"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte("abc")}}); err != nil {
		t.Fatal(err)
	}
	sr, err := st.CloseAndRecv()
	wantCode(t, "stream with publish", err, codes.OK)
	if sr.GetAggregatedPayloadSize() != 3 {
		t.Fatalf("aggregated %d", sr.GetAggregatedPayloadSize())
	}

	// A service the policy does not list is denied, whatever the scopes.
	_, err = testpb.NewUnimplementedServiceClient(conn).UnimplementedCall(withToken(ctx, "operator-token"), &testpb.Empty{})
	wantCode(t, "unlisted service", err, codes.PermissionDenied)

	// Health needs no token.
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	wantCode(t, "health without token", err, codes.OK)
}

func TestAuthOffIsOpen(t *testing.T) {
	addr := serve(t, grpcx.Edge{}, &testService{})
	c := testpb.NewTestServiceClient(dial(t, addr, grpcx.ClientOptions{}))
	_, err := c.EmptyCall(t.Context(), &testpb.Empty{})
	wantCode(t, "no guard", err, codes.OK)
}

func TestRateLimitExhaustsAndRecovers(t *testing.T) {
	// 20 calls a second, bursts of 2: a tight loop drains the bucket well
	// before it refills, and it refills within a fraction of a second.
	addr := serve(t, grpcx.Edge{
		Guard:   auth.NewGuardWith(testTokens(t), policy),
		Limiter: ratelimit.New(20, 2),
	}, &testService{})
	c := testpb.NewTestServiceClient(dial(t, addr, grpcx.ClientOptions{}))
	reader := withToken(t.Context(), "reader-token")

	var err error
	for range 1000 {
		if _, err = c.UnaryCall(reader, &testpb.SimpleRequest{}); err != nil {
			break
		}
	}
	wantCode(t, "over the limit", err, codes.ResourceExhausted)
	var retry *errdetails.RetryInfo
	for _, d := range status.Convert(err).Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("ResourceExhausted without a RetryInfo delay: %v", status.Convert(err).Details())
	}
	// Health is never limited, another client has a bucket of its own, and
	// the limited client gets through again once its bucket refills.
	_, err = healthpb.NewHealthClient(dial(t, addr, grpcx.ClientOptions{})).Check(reader, &healthpb.HealthCheckRequest{})
	wantCode(t, "health while limited", err, codes.OK)
	_, err = c.UnaryCall(withToken(t.Context(), "operator-token"), &testpb.SimpleRequest{})
	wantCode(t, "another client", err, codes.OK)
	testenv.Eventually(t, 10*time.Second, "limit lifts", func() bool {
		_, err := c.UnaryCall(reader, &testpb.SimpleRequest{})
		return err == nil
	})
}

func TestRateLimitKeysOnForwardedForFromLoopback(t *testing.T) {
	// A bucket of one that refills every 1000 s: the second call of a
	// client is refused whatever the timing.
	addr := serve(t, grpcx.Edge{Limiter: ratelimit.New(0.001, 1)}, &testService{})
	c := testpb.NewTestServiceClient(dial(t, addr, grpcx.ClientOptions{}))
	from := func(xff string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), "x-forwarded-for", xff)
	}

	resp, err := c.UnaryCall(from("203.0.113.7"), &testpb.SimpleRequest{})
	wantCode(t, "first call of 203.0.113.7", err, codes.OK)
	if resp.GetServerId() != "ip:203.0.113.7" {
		t.Fatalf("key %q, want the forwarded address", resp.GetServerId())
	}
	// An address the HTTP client put in its own X-Forwarded-For, which the
	// proxy keeps in front of the one it saw, does not buy a new bucket.
	_, err = c.UnaryCall(from("192.0.2.99, 203.0.113.7"), &testpb.SimpleRequest{})
	wantCode(t, "second call of 203.0.113.7 claiming another origin", err, codes.ResourceExhausted)
	_, err = c.UnaryCall(from("198.51.100.2"), &testpb.SimpleRequest{})
	wantCode(t, "first call of 198.51.100.2", err, codes.OK)
	resp, err = c.UnaryCall(t.Context(), &testpb.SimpleRequest{})
	wantCode(t, "first call of the loopback peer itself", err, codes.OK)
	if resp.GetServerId() != "ip:127.0.0.1" {
		t.Fatalf("key %q, want the peer address", resp.GetServerId())
	}
}

func TestMaxMessageSize(t *testing.T) {
	addr := serve(t, grpcx.Edge{MaxMsgBytes: 1024}, &testService{})
	// The client allows more, so the server's limit is what is tested.
	c := testpb.NewTestServiceClient(dial(t, addr, grpcx.ClientOptions{MaxMsgBytes: 1 << 20}))
	ctx := t.Context()

	_, err := c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 100)}})
	wantCode(t, "small request", err, codes.OK)
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 4096)}})
	wantCode(t, "request over the server's limit", err, codes.ResourceExhausted)
	_, err = c.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 4096})
	wantCode(t, "response over the server's limit", err, codes.ResourceExhausted)

	// A client's own limit holds too.
	small := testpb.NewTestServiceClient(dial(t, addr, grpcx.ClientOptions{MaxMsgBytes: 512}))
	_, err = small.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 800)}})
	wantCode(t, "request over the client's limit", err, codes.ResourceExhausted)
}

func TestDialForwardsAuthorizationAndDeadline(t *testing.T) {
	tokens := testTokens(t)
	backend := serve(t, grpcx.Edge{Guard: auth.NewGuardWith(tokens, policy)}, &testService{})
	next := testpb.NewTestServiceClient(dial(t, backend, grpcx.ClientOptions{}))
	front := serve(t, grpcx.Edge{Guard: auth.NewGuardWith(tokens, policy)}, &testService{next: next})
	c := testpb.NewTestServiceClient(dial(t, front, grpcx.ClientOptions{}))

	ctx, cancel := context.WithTimeout(withToken(t.Context(), "reader-token"), time.Minute)
	defer cancel()
	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	wantCode(t, "through the front", err, codes.OK)
	if resp.GetUsername() != "reader" {
		t.Fatalf("backend saw client %q, want the original caller", resp.GetUsername())
	}
	if resp.GetOauthScope() != "deadline" {
		t.Fatal("backend saw no deadline: the caller's did not travel")
	}

	// Behind an open front, the backend still judges the original caller.
	open := testpb.NewTestServiceClient(dial(t, serve(t, grpcx.Edge{}, &testService{next: next}), grpcx.ClientOptions{}))
	_, err = open.UnaryCall(withToken(t.Context(), "publisher-token"), &testpb.SimpleRequest{})
	wantCode(t, "publish token through an open front", err, codes.PermissionDenied)
	_, err = open.UnaryCall(t.Context(), &testpb.SimpleRequest{})
	wantCode(t, "no token through an open front", err, codes.Unauthenticated)
	resp, err = open.UnaryCall(withToken(t.Context(), "reader-token"), &testpb.SimpleRequest{})
	wantCode(t, "read token through an open front", err, codes.OK)
	if resp.GetUsername() != "reader" {
		t.Fatalf("backend saw client %q, want reader", resp.GetUsername())
	}
}
