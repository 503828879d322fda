package main

import (
	"context"
	"io"
	"net/http"
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

// TestRunServesAndStops starts the gateway on real NATS and Redis, waits
// until it reports SERVING, makes a call over gRPC and over HTTP/JSON, and
// shuts it down.
func TestRunServesAndStops(t *testing.T) {
	n, r := testenv.NATS(t), testenv.Redis(t)
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	api := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", n.URL, "--redis-url", r.URL, "--grpc-addr", addr, "--http-addr", "", "--http-api-addr", api}, io.Discard)
	}()
	stopped := false
	t.Cleanup(func() { // a failed test still stops the gateway
		cancel()
		if !stopped {
			select {
			case <-done:
			case <-time.After(15 * time.Second):
			}
		}
	})
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
	for path, want := range map[string]int{"/v1/agreements/nothing": http.StatusNotFound, "/openapi.json": http.StatusOK, "/v1/agreements?pageSize=9999": http.StatusBadRequest} {
		resp, err := http.Get("http://" + api + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not stop")
	}
}
