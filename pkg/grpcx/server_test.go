package grpcx_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/testenv"
)

func TestInvalidArgumentDetails(t *testing.T) {
	err := grpcx.InvalidArgument("invalid agreement",
		grpcx.FieldViolation{Field: "agreement.title", Description: "required"},
		grpcx.FieldViolation{Field: "agreement.signed_on.month", Description: "must be 0..12"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("code %v", status.Code(err))
	}
	v := grpcx.FieldViolations(err)
	if len(v) != 2 || v[0].Field != "agreement.title" || v[1].Field != "agreement.signed_on.month" {
		t.Fatalf("violations %+v", v)
	}
}

func TestHealthFollowsChecks(t *testing.T) {
	var broken atomic.Bool
	s := grpcx.NewServer(testenv.Logger(t), func(context.Context) error {
		if broken.Load() {
			return errors.New("nats down")
		}
		return nil
	})
	s.CheckInterval = 20 * time.Millisecond
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	statusIs := func(want healthpb.HealthCheckResponse_ServingStatus) func() bool {
		return func() bool {
			r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
			return err == nil && r.Status == want
		}
	}
	testenv.Eventually(t, 5*time.Second, "serving", statusIs(healthpb.HealthCheckResponse_SERVING))
	broken.Store(true)
	testenv.Eventually(t, 5*time.Second, "not serving", statusIs(healthpb.HealthCheckResponse_NOT_SERVING))
	broken.Store(false)
	testenv.Eventually(t, 5*time.Second, "serving again", statusIs(healthpb.HealthCheckResponse_SERVING))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

func TestRealChecks(t *testing.T) {
	n := testenv.NATS(t)
	r := testenv.Redis(t)
	ctx := context.Background()
	if err := grpcx.NATSCheck(n.Conn)(ctx); err != nil {
		t.Fatal(err)
	}
	if err := grpcx.RedisCheck(r.Client)(ctx); err != nil {
		t.Fatal(err)
	}
	r.Process.Kill()
	if err := grpcx.RedisCheck(r.Client)(ctx); err == nil {
		t.Fatal("redis check passed with redis killed")
	}
}
