package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// TestEdge starts statistics with a token file: reads need read, and
// RebuildProjections needs admin.
func TestEdge(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	r := testenv.Redis(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("# test clients\nanalyst read analyst-token\nops read,admin ops-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", n.URL, "--redis-url", r.URL, "--grpc-addr", addr,
			"--http-addr", "", "--shutdown-timeout", "5s", "--auth-tokens-file", tokens,
			"--gazetteer", "../../../../data/gazetteer/entities.ndjson"}, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})

	conn, err := grpcx.Dial(addr, grpcx.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := bilatv1.NewStatisticsServiceClient(conn)
	as := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	testenv.Eventually(t, 20*time.Second, "a read with the read scope", func() bool {
		_, err := client.GetAgreementCounts(as("analyst-token"), &bilatv1.GetAgreementCountsRequest{Partner: "GE"})
		return err == nil
	})
	_, err = client.GetAgreementCounts(ctx, &bilatv1.GetAgreementCountsRequest{Partner: "GE"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("read without token: %v", err)
	}
	_, err = client.RebuildProjections(as("analyst-token"), &bilatv1.RebuildProjectionsRequest{})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), `"admin"`) {
		t.Errorf("rebuild with read scope: %v", err)
	}
	_, err = client.RebuildProjections(as("ops-token"), &bilatv1.RebuildProjectionsRequest{})
	if c := status.Code(err); c == codes.PermissionDenied || c == codes.Unauthenticated {
		t.Errorf("rebuild with admin scope refused by the guard: %v", err)
	}
}
