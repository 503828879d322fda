package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
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

func publish(t *testing.T, js jetstream.JetStream, subject, msgID string, m proto.Message) {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	hdr := nats.Header{}
	hdr.Set(natsx.HeaderEventType, string(m.ProtoReflect().Descriptor().FullName()))
	if _, err := natsx.Publish(context.Background(), js, subject, msgID, data, hdr); err != nil {
		t.Fatal(err)
	}
}

func agreement(ev string, seq uint64, id, partner string, year int32, ds ...bilatv1.Domain) *bilatv1.AgreementRecorded {
	return &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: ev, Sequence: seq, RecordedAt: timestamppb.New(time.Unix(1700000000+int64(seq), 0))},
		Agreement: &bilatv1.Agreement{Id: id, Title: id,
			Partner:  &bilatv1.EntityRef{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: partner},
			SignedOn: &bilatv1.PartialDate{Year: year}, Domains: ds},
	}
}

// TestStatisticsEndToEnd runs the service against real NATS and Redis:
// enriched events become projections, a redelivered copy of an event does
// not count twice, and garbage is dead-lettered without stopping the stage.
func TestStatisticsEndToEnd(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	r := testenv.Redis(t)
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", n.URL, "--redis-url", r.URL, "--grpc-addr", addr,
			"--http-addr", "", "--log-level", "debug", "--shutdown-timeout", "5s",
			"--gazetteer", "../../../../data/gazetteer/entities.ndjson"}, logs)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := bilatv1.NewStatisticsServiceClient(conn)
	counts := func(partner string) *bilatv1.GetAgreementCountsResponse {
		t.Helper()
		var resp *bilatv1.GetAgreementCountsResponse
		testenv.Eventually(t, 10*time.Second, "gRPC answers", func() bool {
			resp, err = client.GetAgreementCounts(context.Background(), &bilatv1.GetAgreementCountsRequest{Partner: partner})
			return err == nil
		})
		return resp
	}
	waitTotal := func(partner string, want int64) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, fmt.Sprintf("%s total %d", partner, want), func() bool {
			return counts(partner).GetTotalAgreements() == want
		})
	}

	trade, health := bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_HEALTH
	a1 := agreement("e1", 101, "a1", "GE", 2017, trade, health)
	publish(t, n.JS, natsx.SubjectEnriched("agreement", "GE"), "e1", a1)
	publish(t, n.JS, natsx.SubjectEnriched("agreement", "GE"), "e2", agreement("e2", 102, "a2", "GE", 2018, trade))
	publish(t, n.JS, natsx.SubjectEnriched("trade_figure", "AF"), "t1", &bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: "t1", Sequence: 103, RecordedAt: timestamppb.New(time.Unix(1700000103, 0))},
		Figure: &bilatv1.TradeFigure{Id: "f1", Partner: &bilatv1.EntityRef{Code: "AF"}, Reporter: &bilatv1.EntityRef{Code: "BY"},
			Period: &bilatv1.Period{Year: 2018}, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
			Value: &bilatv1.Money{Currency: "USD", Units: 42_000_000}},
	})
	waitTotal("GE", 2)

	// The same event again under another message id (so JetStream stores
	// it): a redelivery as the projection sees it. Then a sentinel: the
	// consumer works in stream order, so once it shows the copy was handled.
	publish(t, n.JS, natsx.SubjectEnriched("agreement", "GE"), "e1-copy", a1)
	publish(t, n.JS, natsx.SubjectEnriched("agreement", "GE"), "e3", agreement("e3", 104, "a3", "GE", 2019))
	waitTotal("GE", 3)
	got := map[string]int64{}
	for _, c := range counts("GE").GetCounts() {
		got[fmt.Sprintf("%s|%d", projection.DomainName(c.GetDomain()), c.GetYear())] = c.GetCount()
	}
	want := map[string]int64{"trade|2017": 1, "health|2017": 1, "trade|2018": 1, "unspecified|2019": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}

	store := projection.New(r.Client)
	series, err := store.GetTradeSeries(context.Background(), projection.TradeFilter{Partner: "AF"})
	if err != nil || len(series) != 1 || series[0].GetFigures()[0].GetValue().GetUnits() != 42_000_000 {
		t.Fatalf("trade series = %v, %v", series, err)
	}

	// Garbage is dead-lettered; the stage goes on.
	if _, err := natsx.Publish(context.Background(), n.JS, natsx.SubjectEnriched("agreement", "GE"), "junk",
		[]byte("not protobuf"), nil); err != nil {
		t.Fatal(err)
	}
	publish(t, n.JS, natsx.SubjectEnriched("agreement", "GE"), "e4", agreement("e4", 106, "a4", "GE", 2020))
	waitTotal("GE", 4)
	dlq, err := n.JS.Stream(context.Background(), natsx.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	var dead *jetstream.RawStreamMsg
	testenv.Eventually(t, 10*time.Second, "dead letter", func() bool {
		dead, err = dlq.GetLastMsgForSubject(context.Background(), natsx.SubjectDLQ("statistics"))
		return err == nil
	})
	if string(dead.Data) != "not protobuf" || dead.Header.Get(natsx.HeaderDLQStage) != "statistics" ||
		dead.Header.Get(natsx.HeaderDLQReason) == "" || dead.Header.Get(natsx.HeaderDLQStream) != natsx.StreamEnriched {
		t.Fatalf("dead letter = %q %v", dead.Data, dead.Header)
	}
	if msgs := n.StreamMsgs(t, natsx.StreamDLQ); msgs != 1 {
		t.Fatalf("dead letters = %d, want 1", msgs)
	}

	// Validation and an unknown partner over gRPC.
	_, err = client.GetAgreementCounts(context.Background(), &bilatv1.GetAgreementCountsRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty partner: %v", err)
	}
	if resp := counts("XX"); len(resp.GetCounts()) != 0 || resp.GetTotalAgreements() != 0 {
		t.Fatalf("unknown partner = %v", resp)
	}

	// A retraction takes a4 out; the rebuilt projections equal the live ones.
	publish(t, n.JS, "bilat.enriched.agreement.retracted", "r1", &bilatv1.AgreementRetracted{
		Envelope: &bilatv1.Envelope{EventId: "r1", Sequence: 107}, AgreementId: "a4", Reason: "test"})
	waitTotal("GE", 3)
	// The count drops with the retract script; the history's tombstone is
	// written just after it. Wait for both before taking the checksum.
	testenv.Eventually(t, 10*time.Second, "retraction in a4's history", func() bool {
		revs, err := store.AgreementRevisions(context.Background(), "a4")
		return err == nil && len(revs) > 0 && revs[len(revs)-1].GetRetracted()
	})
	live, err := client.GetProjectionsChecksum(context.Background(), &bilatv1.GetProjectionsChecksumRequest{})
	if err != nil || live.GetKeys() == 0 {
		t.Fatalf("checksum = %v, %v", live, err)
	}
	rebuilt, err := client.RebuildProjections(context.Background(), &bilatv1.RebuildProjectionsRequest{})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if rebuilt.GetChecksum() != live.GetChecksum() || rebuilt.GetKeys() != live.GetKeys() || rebuilt.GetDeletedKeys() != live.GetKeys() {
		t.Fatalf("rebuilt %v, live %v", rebuilt, live)
	}
	waitTotal("GE", 3)
	// Statistics over the figure: 42 M USD turnover, no other flow derivable.
	bal, err := client.ComputeTradeBalance(context.Background(), &bilatv1.ComputeTradeBalanceRequest{Partner: "AF"})
	if err != nil || len(bal.GetPeriods()) != 1 || bal.GetPeriods()[0].GetValues()[0].GetUsd().GetUnits() != 42_000_000 {
		t.Fatalf("balance = %v, %v", bal, err)
	}
	if _, err := client.ComputeTradeBalance(context.Background(), &bilatv1.ComputeTradeBalanceRequest{Partner: "XX"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown partner balance: %v", err)
	}
	if _, err := client.ComputePartnerRanking(context.Background(), &bilatv1.ComputePartnerRankingRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ranking without year: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("service did not shut down")
	}
}
