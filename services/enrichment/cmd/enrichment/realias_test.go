package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// TestAliasReenrichesAndProjectionsCorrectThemselves runs the real
// enrichment service against real NATS and Redis, with a small consumer
// applying BILAT_ENRICHED to pkg/projection as statistics does: an
// agreement whose partner is unknown is stored under "unresolved"; an
// operator alias moves it to GE exactly once; redelivering both enriched
// versions changes nothing.
func TestAliasReenrichesAndProjectionsCorrectThemselves(t *testing.T) {
	n := testenv.NATS(t)
	rds := testenv.Redis(t)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", n.URL, "--grpc-addr", grpcAddr, "--http-addr", ""}, &logs)
	}()
	defer func() {
		cancel()
		<-done
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
	testenv.Eventually(t, 60*time.Second, "gRPC health SERVING", func() bool {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING
	})
	gz := bilatv1.NewGazetteerServiceClient(conn)

	// The projection side: what statistics does, without importing it.
	store := projection.New(rds.Client)
	apply := func(ctx context.Context, data []byte) error {
		ev := &bilatv1.AgreementRecorded{}
		if err := proto.Unmarshal(data, ev); err != nil {
			return natsx.Poison(err)
		}
		_, err := store.ApplyAgreement(ctx, ev)
		return err
	}
	cons, err := natsx.Consume(ctx, n.JS, natsx.ConsumerConfig{
		Stream: natsx.StreamEnriched, Durable: "itest-projection", Stage: "statistics",
		FilterSubjects: []string{"bilat.enriched.agreement.>"}, BackOff: []time.Duration{50 * time.Millisecond},
	}, func(ctx context.Context, msg jetstream.Msg) error { return apply(ctx, msg.Data()) }, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		cons.Stop(sctx)
	}()

	const name, id = "Iberian Kingdom of Kartli", "itest-ge-trade-2019"
	data, err := proto.Marshal(&bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: "evt-itest-1"},
		Agreement: &bilatv1.Agreement{
			Id: id, Title: "Agreement on trade and economic cooperation", SignedOn: &bilatv1.PartialDate{Year: 2019, Month: 4},
			Partner: &bilatv1.EntityRef{Name: name},
			Parties: []*bilatv1.Party{{Entity: &bilatv1.EntityRef{Name: "Republic of Belarus"}}, {Entity: &bilatv1.EntityRef{Name: name}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "evt-itest-1", data, nil); err != nil {
		t.Fatal(err)
	}

	listed := func(partner string) []string {
		page, err := store.ListAgreements(ctx, projection.AgreementFilter{Partner: partner}, 100, "")
		if err != nil {
			t.Fatalf("list %s: %v", partner, err)
		}
		as, err := page.Agreements()
		if err != nil {
			t.Fatalf("list %s: %v", partner, err)
		}
		var ids []string
		for _, a := range as {
			ids = append(ids, a.GetId())
		}
		return ids
	}
	testenv.Eventually(t, 15*time.Second, "the agreement under unresolved", func() bool {
		return slices.Equal(listed(projection.Unresolved), []string{id})
	})
	un, err := gz.ListUnresolved(ctx, &bilatv1.ListUnresolvedRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(un.GetNames()) != 1 || un.Names[0].GetName() != name || un.Names[0].GetCount() != 1 || len(un.Names[0].GetSequences()) != 1 {
		t.Fatalf("unresolved = %v, want %q once (partner and party are one event)", un, name)
	}

	added, err := gz.AddAlias(ctx, &bilatv1.AddAliasRequest{Alias: name, Code: "GE"})
	if err != nil {
		t.Fatal(err)
	}
	if added.GetReenriched() != 1 || !slices.Equal(added.GetResolvedNames(), []string{name}) {
		t.Errorf("AddAlias = %v, want 1 event re-enriched", added)
	}
	testenv.Eventually(t, 15*time.Second, "the agreement under GE only", func() bool {
		return slices.Equal(listed("GE"), []string{id}) && len(listed(projection.Unresolved)) == 0
	})
	counts, err := store.AgreementCounts(ctx, "GE", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if counts.GetTotalAgreements() != 1 {
		t.Errorf("GE counts total %d, want 1: %v", counts.GetTotalAgreements(), counts)
	}
	got, err := store.GetAgreement(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetPartner().GetCode() != "GE" || got.GetParties()[1].GetEntity().GetMatchedAlias() != name {
		t.Errorf("stored agreement partner %v, party %v", got.GetPartner(), got.GetParties()[1].GetEntity())
	}
	if un, err := gz.ListUnresolved(ctx, &bilatv1.ListUnresolvedRequest{}); err != nil || len(un.GetNames()) != 0 {
		t.Errorf("unresolved after the alias = %v, %v; want none", un, err)
	}
	// Resolution now answers with the operator's alias, without a restart.
	if r, err := gz.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: "iberian kingdom of KARTLI"}); err != nil || r.GetEntity().GetCode() != "GE" || r.GetMethod() != "operator" {
		t.Errorf("ResolveEntity after alias = %v, %v", r, err)
	}

	// BILAT_ENRICHED holds both versions: the first (unresolved) and the
	// re-enriched one with its own message id.
	s, err := n.JS.Stream(ctx, natsx.StreamEnriched)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.GetMsg(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if first.Subject != "bilat.enriched.agreement.unresolved" || second.Subject != "bilat.enriched.agreement.GE" ||
		second.Header.Get(natsx.HeaderMsgID) != "evt-itest-1-e1" {
		t.Errorf("enriched messages: %s %s, %s %s", first.Subject, first.Header.Get(natsx.HeaderMsgID), second.Subject, second.Header.Get(natsx.HeaderMsgID))
	}
	v := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(second.Data, v); err != nil || v.GetEnvelope().GetEnrichmentVersion() != 1 || v.GetEnvelope().GetSequence() != 1 {
		t.Errorf("re-enriched envelope = %v, %v", v.GetEnvelope(), err)
	}

	// Redelivery of both, newest first then oldest: nothing changes.
	before, keys, err := store.Checksum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*jetstream.RawStreamMsg{second, first, second} {
		if err := apply(ctx, m.Data); err != nil {
			t.Fatal(err)
		}
	}
	after, keys2, err := store.Checksum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before != after || keys != keys2 {
		t.Errorf("redelivery changed Redis: %d keys %s -> %d keys %s", keys, before, keys2, after)
	}
	if !slices.Equal(listed("GE"), []string{id}) || len(listed(projection.Unresolved)) != 0 {
		t.Errorf("after redelivery: GE %v, unresolved %v", listed("GE"), listed(projection.Unresolved))
	}
}
