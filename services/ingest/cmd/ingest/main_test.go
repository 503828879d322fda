package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protojson"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
)

// syncBuffer collects the service's log across goroutines.
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

// TestRun starts the whole service as main does, drives both doors, reads
// the metrics, and shuts it down.
func TestRun(t *testing.T) {
	n := testenv.NATS(t)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", n.URL, "--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-level", "debug", "--shutdown-timeout", "5s"}, logs)
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
	testenv.Eventually(t, 20*time.Second, "ingest to report SERVING", func() bool {
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "bilat.v1.IngestService"})
		return err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})

	metricsBefore := map[string]float64{}
	for _, series := range []string{
		`bilat_ingest_submissions_total{door="grpc",outcome="accepted",type="agreement"}`,
		`bilat_ingest_submissions_total{door="jetstream",outcome="accepted",type="agreement"}`,
	} {
		metricsBefore[series] = metricValue(t, httpAddr, series)
	}
	client := bilatv1.NewIngestServiceClient(conn)
	agr := &bilatv1.Agreement{
		Title:   "Agreement on cooperation in science and technology",
		Kind:    bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT,
		Status:  bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
		Partner: &bilatv1.EntityRef{Name: "China"},
		Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY},
	}
	if _, err := client.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: agr}); err != nil {
		t.Fatal(err)
	}
	agr.Title = "Memorandum on education"
	body, err := protojson.Marshal(agr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.JS.Publish(ctx, natsx.SubjectIngestAgreement, body); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 15*time.Second, "two events", func() bool {
		return n.StreamMsgs(t, natsx.StreamEvents) == 2
	})

	// Counters are process-wide, so compare with the values before this
	// run's submissions. A door message is counted once its key is
	// remembered, just after its event is in the stream.
	for series, before := range metricsBefore {
		testenv.Eventually(t, 5*time.Second, series, func() bool {
			return metricValue(t, httpAddr, series) == before+1
		})
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Fatal("no clean stop in the log")
	}
}

// metricValue reads one series from /metrics; a series not yet exported is 0.
func metricValue(t *testing.T, httpAddr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}

func TestRunRejectsBadSettings(t *testing.T) {
	err := run(context.Background(), []string{"--log-level", "loud"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "log level") {
		t.Fatalf("err = %v", err)
	}
	err = run(context.Background(), []string{"--no-such-flag"}, io.Discard)
	if err == nil {
		t.Fatal("unknown flag accepted")
	}
}
