package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func agreement(id, partner string, year int32, domains ...bilatv1.Domain) *bilatv1.Agreement {
	return &bilatv1.Agreement{
		Id:       id,
		Title:    "Agreement on cooperation " + id,
		Kind:     bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT,
		Status:   bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
		Partner:  &bilatv1.EntityRef{Name: partner},
		Parties:  []*bilatv1.Party{{Entity: &bilatv1.EntityRef{Name: "Belarus"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE}, {Entity: &bilatv1.EntityRef{Name: partner}, Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE}},
		SignedOn: &bilatv1.PartialDate{Year: year, Month: 3},
		Domains:  domains,
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func waitAgreement(t *testing.T, st *stack, id string) *bilatv1.Agreement {
	t.Helper()
	var got *bilatv1.Agreement
	testenv.Eventually(t, 30*time.Second, "agreement "+id+" in the gateway", func() bool {
		r, err := st.agreements().GetAgreement(context.Background(), &bilatv1.GetAgreementRequest{Id: id})
		if err != nil {
			return false
		}
		got = r.Agreement
		return true
	})
	return got
}

// (a) An agreement submitted by gRPC and one published raw to
// bilat.ingest.agreement both become queryable through the gateway.
func TestBothDoorsReachTheGateway(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 2*time.Minute)

	r, err := st.ingest().SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{
		Agreement: agreement("e2e-grpc-1", "Georgia", 2018, bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_CULTURE),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Result.Duplicate || r.Result.RecordId != "e2e-grpc-1" || r.Result.EventId == "" {
		t.Fatalf("submit result %+v", r.Result)
	}
	raw, err := protojson.Marshal(agreement("e2e-raw-1", "Georgia", 2019, bilatv1.Domain_DOMAIN_EDUCATION))
	if err != nil {
		t.Fatal(err)
	}
	msg := &nats.Msg{Subject: natsx.SubjectIngestAgreement, Data: raw, Header: nats.Header{}}
	msg.Header.Set("Content-Type", "application/json")
	if _, err := st.nats.JS.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}

	a := waitAgreement(t, st, "e2e-grpc-1")
	b := waitAgreement(t, st, "e2e-raw-1")
	if a.Partner.GetCode() != "GE" || b.Partner.GetCode() != "GE" {
		t.Fatalf("partners %v / %v, want GE", a.Partner, b.Partner)
	}
	if a.Partner.Resolution != bilatv1.Resolution_RESOLUTION_RESOLVED {
		t.Fatalf("partner not resolved: %v", a.Partner)
	}
	list, err := st.agreements().ListAgreements(ctx, &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "GE"}})
	if err != nil {
		t.Fatal(err)
	}
	if list.TotalSize != 2 || len(list.Agreements) != 2 || list.Agreements[0].Id != "e2e-raw-1" {
		t.Fatalf("list: total %d, %d items, first %q (want the 2019 one first)", list.TotalSize, len(list.Agreements), first(list.Agreements))
	}
	byDomain, err := st.agreements().ListAgreements(ctx, &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "GE", Domain: bilatv1.Domain_DOMAIN_CULTURE, SignedFrom: &bilatv1.PartialDate{Year: 2018}, SignedTo: &bilatv1.PartialDate{Year: 2018}}})
	if err != nil {
		t.Fatal(err)
	}
	if byDomain.TotalSize != 1 || byDomain.Agreements[0].Id != "e2e-grpc-1" {
		t.Fatalf("domain filter: %d %q", byDomain.TotalSize, first(byDomain.Agreements))
	}

	// A trade figure travels the same way.
	fig := &bilatv1.TradeFigure{
		Id: "e2e-af-2018", Reporter: &bilatv1.EntityRef{Name: "Belarus"}, Partner: &bilatv1.EntityRef{Name: "Afghanistan"},
		Period: &bilatv1.Period{Year: 2018}, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, Scope: bilatv1.TradeScope_TRADE_SCOPE_GOODS,
		Value: &bilatv1.Money{Currency: "USD", Units: 38_700_000},
	}
	if _, err := st.ingest().SubmitTradeFigure(ctx, &bilatv1.SubmitTradeFigureRequest{Figure: fig}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "trade series", func() bool {
		s, err := st.trade().GetTradeSeries(ctx, &bilatv1.GetTradeSeriesRequest{Partner: "AF"})
		return err == nil && len(s.Points) == 1 && len(s.Points[0].Figures) == 1 && s.Points[0].Figures[0].Value.GetUnits() == 38_700_000
	})

	// The bilat tool shows the same.
	out, errOut, code := st.bilat("agreements", "list", "--partner", "GE", "-o", "json")
	if code != 0 || !strings.Contains(out, "e2e-grpc-1") || !strings.Contains(out, "e2e-raw-1") {
		t.Fatalf("bilat agreements list: code %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = st.bilat("trade", "series", "AF")
	if code != 0 || !strings.Contains(out, "38,700,000") {
		t.Fatalf("bilat trade series: code %d\n%s\n%s", code, out, errOut)
	}
}

func first(as []*bilatv1.Agreement) string {
	if len(as) == 0 {
		return ""
	}
	return as[0].Id
}

// (b) The same event sent three times through both doors is stored once,
// and the counts do not move.
func TestSameEventThreeTimesIsStoredOnce(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 2*time.Minute)
	a := agreement("e2e-dup-1", "China", 2017, bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY)

	r1, err := st.ingest().SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: a})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := st.ingest().SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: a})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Result.Duplicate || !r2.Result.Duplicate || r1.Result.EventId != r2.Result.EventId {
		t.Fatalf("results %+v / %+v", r1.Result, r2.Result)
	}
	body, err := proto.Marshal(a) // the raw door, protobuf this time, no id header: content hash
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.nats.JS.Publish(ctx, natsx.SubjectIngestAgreement, body); err != nil {
		t.Fatal(err)
	}
	st.pipelineIdle(30 * time.Second)

	if n := st.nats.StreamMsgs(t, natsx.StreamEvents); n != 1 {
		t.Fatalf("BILAT_EVENTS holds %d events, want 1", n)
	}
	got := waitAgreement(t, st, "e2e-dup-1")
	if got.Revision != 1 {
		t.Fatalf("revision %d, want 1", got.Revision)
	}
	counts, err := st.statistics().GetAgreementCounts(ctx, &bilatv1.GetAgreementCountsRequest{Partner: "CN"})
	if err != nil {
		t.Fatal(err)
	}
	if counts.TotalAgreements != 1 || len(counts.Counts) != 1 || counts.Counts[0].Count != 1 || counts.Counts[0].Year != 2017 {
		t.Fatalf("counts %v", counts)
	}
	// A later resubmission through the tool is still a no-op.
	js, _ := protojson.Marshal(a)
	out, errOut, code := st.bilatStdin(string(js), "submit", "agreement", "-")
	if code != 0 || !strings.Contains(out, "duplicate") || !strings.Contains(out, r1.Result.EventId) {
		t.Fatalf("bilat submit again: code %d\n%s\n%s", code, out, errOut)
	}
	if n := st.nats.StreamMsgs(t, natsx.StreamEvents); n != 1 {
		t.Fatalf("BILAT_EVENTS holds %d events after the fourth send, want 1", n)
	}
}

// (c) Invalid input gets InvalidArgument naming the bad field; an invalid
// raw publish lands in the dead-letter stream with its reason.
func TestInvalidInputIsRejectedWithTheField(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 2*time.Minute)

	bad := agreement("e2e-bad-1", "Georgia", 2018)
	bad.Title = ""
	bad.SignedOn.Month = 13
	_, err := st.ingest().SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: bad})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("got %v, want InvalidArgument", err)
	}
	fields := map[string]bool{}
	for _, v := range grpcx.FieldViolations(err) {
		fields[v.Field] = true
	}
	if !fields["agreement.title"] || !fields["agreement.signed_on.month"] {
		t.Fatalf("violations name %v, want agreement.title and agreement.signed_on.month", fields)
	}

	raw, _ := protojson.Marshal(bad)
	if _, err := st.nats.JS.Publish(ctx, natsx.SubjectIngestAgreement, raw); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "dead letter", func() bool { return st.nats.StreamMsgs(t, natsx.StreamDLQ) == 1 })
	dlq, err := st.nats.JS.Stream(ctx, natsx.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	m, err := dlq.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	reason := m.Header.Get(natsx.HeaderDLQReason)
	if m.Subject != "bilat.dlq.ingest" || !strings.Contains(reason, "title") || !strings.Contains(reason, "month") {
		t.Fatalf("dead letter on %s with reason %q", m.Subject, reason)
	}
	st.pipelineIdle(10 * time.Second)
	if n := st.nats.StreamMsgs(t, natsx.StreamEvents); n != 0 {
		t.Fatalf("an invalid event reached BILAT_EVENTS (%d messages)", n)
	}

	// The bilat tool prints each bad field and exits 2.
	out, errOut, code := st.bilatStdin(string(raw), "submit", "agreement", "-")
	if code != 2 || !strings.Contains(out+errOut, "agreement.signed_on.month") {
		t.Fatalf("bilat submit: code %d\n%s\n%s", code, out, errOut)
	}

	// A bad filter is InvalidArgument too.
	_, err = st.agreements().ListAgreements(ctx, &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{SignedFrom: &bilatv1.PartialDate{Year: 2020}, SignedTo: &bilatv1.PartialDate{Year: 2010}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad year range: %v", err)
	}
	_, err = st.agreements().GetAgreement(ctx, &bilatv1.GetAgreementRequest{Id: "no-such-agreement"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown id: %v", err)
	}
}
