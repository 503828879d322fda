package main

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// TestRunServesAndStops starts the gateway on real Redis, waits until it
// reports SERVING, makes a call, and shuts it down.
func TestRunServesAndStops(t *testing.T) {
	r := testenv.Redis(t)
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--redis-url", r.URL, "--grpc-addr", addr, "--http-addr", ""}, io.Discard)
	}()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	testenv.Eventually(t, 10*time.Second, "gateway SERVING", func() bool {
		resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})
	_, err = bilatv1.NewAgreementServiceClient(conn).GetAgreement(context.Background(), &bilatv1.GetAgreementRequest{Id: "nothing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("GetAgreement = %v, want NotFound", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not stop")
	}
}
