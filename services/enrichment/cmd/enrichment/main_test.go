package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// syncBuffer collects the service's log output across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunServesAndShutsDown runs the service as main does, against a real
// NATS server: gRPC becomes SERVING, an event is enriched, and cancelling
// the context shuts everything down cleanly.
func TestRunServesAndShutsDown(t *testing.T) {
	n := testenv.NATS(t)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", n.URL, "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-level", "debug"}, &logs)
	}()
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	testenv.Eventually(t, 20*time.Second, "gRPC health SERVING", func() bool {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		defer ccancel()
		resp, err := health.Check(cctx, &healthpb.HealthCheckRequest{})
		return err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING
	})
	resp, err := bilatv1.NewGazetteerServiceClient(conn).ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: "Chechen Republic"})
	if err != nil || resp.GetEntity().GetCode() != "RU-CE" {
		t.Fatalf("ResolveEntity = %v, %v", resp, err)
	}

	data, err := proto.Marshal(&bilatv1.AgreementRecorded{
		Envelope:  &bilatv1.Envelope{EventId: "ev-main"},
		Agreement: &bilatv1.Agreement{Id: "chechnya-belarus-agreement-2017", Partner: &bilatv1.EntityRef{Name: "Chechen Republic"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "ev-main", data, nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the enriched event", func() bool {
		s, err := n.JS.Stream(ctx, natsx.StreamEnriched)
		if err != nil {
			return false
		}
		_, err = s.GetLastMsgForSubject(ctx, "bilat.enriched.agreement.RU-CE")
		return err == nil
	})

	metrics, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if !strings.Contains(string(body), "bilat_grpc_requests_total") {
		t.Errorf("metrics endpoint does not expose the gRPC metrics")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(logs.String(), "gazetteer loaded") {
		t.Errorf("logs lack the gazetteer line:\n%s", logs.String())
	}
}

func TestRunRejectsBadSettings(t *testing.T) {
	n := testenv.NATS(t)
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"malformed home country": {args: []string{"--home-country", "Belarus"}, want: "ISO 3166-1"},
		"home country from env":  {env: map[string]string{"BILAT_HOME_COUNTRY": "by"}, want: "ISO 3166-1"},
		"home not in gazetteer":  {args: []string{"--home-country", "ZZ"}, want: "not in the gazetteer"},
		"missing gazetteer":      {args: []string{"--gazetteer", "no/such/entities.ndjson"}, want: "BILAT_GAZETTEER"},
		"bad log level":          {args: []string{"--log-level", "loud"}, want: "log level"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			args := append([]string{"--nats-url", n.URL, "--grpc-addr", "127.0.0.1:0", "--http-addr", ""}, tc.args...)
			err := run(ctx, args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%v) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}
