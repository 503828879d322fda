package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// TestEdge starts ingest as main does with a token file and checks that
// IngestService wants the publish scope while health stays open.
func TestEdge(t *testing.T) {
	n := testenv.NATS(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("analyst read analyst-token\nnewsdesk publish newsdesk-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", n.URL, "--grpc-addr", grpcAddr, "--http-addr", "",
			"--auth-tokens-file", tokens, "--max-msg-bytes", "65536", "--shutdown-timeout", "5s"}, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Log(logs.String())
		}
	})

	conn, err := grpcx.Dial(grpcAddr, grpcx.ClientOptions{MaxMsgBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	testenv.Eventually(t, 20*time.Second, "ingest to report SERVING without a token", func() bool {
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})
	client := bilatv1.NewIngestServiceClient(conn)
	as := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	submit := func(ctx context.Context, req *bilatv1.SubmitAgreementRequest) error {
		_, err := client.SubmitAgreement(ctx, req)
		return err
	}
	for _, c := range []struct {
		what string
		err  error
		want codes.Code
	}{
		{"no token", submit(ctx, &bilatv1.SubmitAgreementRequest{}), codes.Unauthenticated},
		{"unknown token", submit(as("nope"), &bilatv1.SubmitAgreementRequest{}), codes.Unauthenticated},
		{"read token", submit(as("analyst-token"), &bilatv1.SubmitAgreementRequest{}), codes.PermissionDenied},
		// Through the guard: the empty agreement is then the handler's to reject.
		{"publish token", submit(as("newsdesk-token"), &bilatv1.SubmitAgreementRequest{}), codes.InvalidArgument},
		{"oversized", submit(as("newsdesk-token"), &bilatv1.SubmitAgreementRequest{
			Agreement: &bilatv1.Agreement{Title: strings.Repeat("x", 100_000)}}), codes.ResourceExhausted},
	} {
		if got := status.Code(c.err); got != c.want {
			t.Errorf("%s: %v, want %v (%v)", c.what, got, c.want, c.err)
		}
	}
	if err := submit(as("analyst-token"), &bilatv1.SubmitAgreementRequest{}); !strings.Contains(status.Convert(err).Message(), `"publish"`) {
		t.Errorf("PermissionDenied should name the publish scope: %v", err)
	}
}
