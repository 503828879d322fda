package ports_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/adapters"
	"bilat.dev/services/enrichment/internal/app"
	"bilat.dev/services/enrichment/internal/domain"
	"bilat.dev/services/enrichment/internal/ports"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func loadGazetteer(t *testing.T) *domain.Gazetteer {
	t.Helper()
	// The default relative path is found by walking up from the package
	// directory to the repository's data/.
	g, _, err := adapters.LoadGazetteer(adapters.DefaultGazetteerPath)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// pipeline is a real JetStream server with the enrichment consumer running.
type pipeline struct {
	nats *testenv.NATSServer
	cons *natsx.Consumer
}

func startPipeline(t *testing.T) *pipeline {
	t.Helper()
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	log := testenv.Logger(t)
	svc := app.New(loadGazetteer(t), "BY", adapters.NewEnrichedPublisher(n.JS), log)
	cfg := ports.ConsumerConfig()
	cfg.BackOff = []time.Duration{50 * time.Millisecond}
	cons, err := natsx.Consume(context.Background(), n.JS, cfg, ports.EventHandler(svc), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cons.Stop(ctx)
	})
	return &pipeline{nats: n, cons: cons}
}

// publish stores an event in BILAT_EVENTS and returns its stream sequence.
func (p *pipeline) publish(t *testing.T, subject, msgID string, data []byte) uint64 {
	t.Helper()
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(natsx.HeaderTraceparent, traceparent)
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	ack, err := p.nats.JS.PublishMsg(context.Background(), msg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Stream != natsx.StreamEvents {
		t.Fatalf("stored in %s", ack.Stream)
	}
	return ack.Sequence
}

// last waits for the last message on a subject of a stream.
func (p *pipeline) last(t *testing.T, stream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	s, err := p.nats.JS.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var msg *jetstream.RawStreamMsg
	testenv.Eventually(t, 10*time.Second, "a message on "+subject, func() bool {
		m, err := s.GetLastMsgForSubject(context.Background(), subject)
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgNotFound) {
				t.Logf("get last %s: %v", subject, err)
			}
			return false
		}
		msg = m
		return true
	})
	return msg
}

// settled waits until the consumer has acked everything in BILAT_EVENTS.
func (p *pipeline) settled(t *testing.T) {
	t.Helper()
	p.nats.WaitConsumed(t, natsx.StreamEvents, ports.Durable, 10*time.Second)
}

func agreementEvent(t *testing.T, id string, a *bilatv1.Agreement) []byte {
	t.Helper()
	b, err := proto.Marshal(&bilatv1.AgreementRecorded{Envelope: &bilatv1.Envelope{EventId: id, Source: "test"}, Agreement: a})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAgreementIsEnrichedAndRoutedByPartner(t *testing.T) {
	p := startPipeline(t)
	a := &bilatv1.Agreement{
		Id:    "belarus-georgia-treaty-basis-cooperation-2018",
		Title: "Treaty on the basis of cooperation",
		Parties: []*bilatv1.Party{
			{Entity: &bilatv1.EntityRef{Name: "Republic of Belarus"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE, Country: "BY"},
			{Entity: &bilatv1.EntityRef{Name: "Грузия"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE, Country: "GE"},
		},
		Partner: &bilatv1.EntityRef{Name: "Georgia"},
	}
	seq := p.publish(t, natsx.SubjectEventAgreement, "ev-georgia", agreementEvent(t, "ev-georgia", a))

	raw := p.last(t, natsx.StreamEnriched, "bilat.enriched.agreement.GE")
	if raw.Header.Get(natsx.HeaderMsgID) != "ev-georgia" || raw.Header.Get(natsx.HeaderEventType) != "bilat.v1.AgreementRecorded" ||
		raw.Header.Get(natsx.HeaderTraceparent) != traceparent {
		t.Errorf("headers = %v", raw.Header)
	}
	out := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(raw.Data, out); err != nil {
		t.Fatal(err)
	}
	if out.Envelope.GetSequence() != seq || seq == 0 {
		t.Errorf("envelope.sequence = %d, want the BILAT_EVENTS sequence %d", out.Envelope.GetSequence(), seq)
	}
	parties := out.Agreement.Parties
	if parties[0].Entity.Code != "BY" || parties[1].Entity.Code != "GE" || parties[1].Entity.Name != "Грузия" ||
		parties[1].Entity.MatchedAlias != "Грузия" || out.Agreement.Partner.Code != "GE" || out.Agreement.Partner.Kind != bilatv1.EntityKind_ENTITY_KIND_COUNTRY {
		t.Errorf("agreement = %v", out.Agreement)
	}
	p.settled(t)
	if n := p.nats.StreamMsgs(t, natsx.StreamDLQ); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}

func TestUnresolvedPartnerKeepsItsName(t *testing.T) {
	p := startPipeline(t)
	a := &bilatv1.Agreement{Id: "x", Partner: &bilatv1.EntityRef{Name: "Free City of Danzig"},
		Parties: []*bilatv1.Party{{Entity: &bilatv1.EntityRef{Name: "Belarusian companies"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE}}}
	p.publish(t, natsx.SubjectEventAgreement, "ev-danzig", agreementEvent(t, "ev-danzig", a))
	raw := p.last(t, natsx.StreamEnriched, "bilat.enriched.agreement.unresolved")
	out := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(raw.Data, out); err != nil {
		t.Fatal(err)
	}
	if pr := out.Agreement.Partner; pr.Name != "Free City of Danzig" || pr.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED || pr.Code != "" {
		t.Errorf("partner = %v", pr)
	}
	if pe := out.Agreement.Parties[0].Entity; pe.Name != "Belarusian companies" || pe.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED {
		t.Errorf("party = %v", pe)
	}
}

func TestTradeFigureWithDottedPartnerCode(t *testing.T) {
	p := startPipeline(t)
	data, err := proto.Marshal(&bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: "ev-trade"},
		Figure: &bilatv1.TradeFigure{Id: "cis-mutual-trade-2017", Reporter: &bilatv1.EntityRef{Name: "CIS"}, Partner: &bilatv1.EntityRef{Name: "Commonwealth of Independent States"},
			Period: &bilatv1.Period{Year: 2017}, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, Value: &bilatv1.Money{Currency: "USD", Units: 164_000_000_000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	seq := p.publish(t, natsx.SubjectEventTrade, "ev-trade", data)
	raw := p.last(t, natsx.StreamEnriched, "bilat.enriched.trade_figure.bloc_cis")
	out := &bilatv1.TradeFigureRecorded{}
	if err := proto.Unmarshal(raw.Data, out); err != nil {
		t.Fatal(err)
	}
	if out.Envelope.Sequence != seq || out.Figure.Reporter.Code != "bloc.cis" || out.Figure.Partner.Code != "bloc.cis" ||
		raw.Header.Get(natsx.HeaderEventType) != "bilat.v1.TradeFigureRecorded" {
		t.Errorf("enriched = %v, headers %v", out, raw.Header)
	}
}

func TestPoisonGoesToDLQ(t *testing.T) {
	p := startPipeline(t)
	garbageSeq := p.publish(t, natsx.SubjectEventAgreement, "ev-garbage", []byte("\xff\xfe definitely not protobuf"))
	dlq := p.last(t, natsx.StreamDLQ, natsx.SubjectDLQ(ports.Stage))
	if reason := dlq.Header.Get(natsx.HeaderDLQReason); !strings.Contains(reason, "decode bilat.v1.AgreementRecorded") {
		t.Errorf("reason = %q", reason)
	}
	if dlq.Header.Get(natsx.HeaderDLQStream) != natsx.StreamEvents || dlq.Header.Get(natsx.HeaderDLQSubject) != natsx.SubjectEventAgreement ||
		dlq.Header.Get(natsx.HeaderDLQSequence) != strconv.FormatUint(garbageSeq, 10) || string(dlq.Data) != "\xff\xfe definitely not protobuf" {
		t.Errorf("dead letter = %v %q", dlq.Header, dlq.Data)
	}

	p.publish(t, "bilat.events.agreement.exploded", "ev-unknown", agreementEvent(t, "ev-unknown", &bilatv1.Agreement{Id: "y"}))
	testenv.Eventually(t, 10*time.Second, "the unknown subject to be dead-lettered", func() bool {
		return p.nats.StreamMsgs(t, natsx.StreamDLQ) == 2
	})
	dlq = p.last(t, natsx.StreamDLQ, natsx.SubjectDLQ(ports.Stage))
	if reason := dlq.Header.Get(natsx.HeaderDLQReason); !strings.Contains(reason, `subject "bilat.events.agreement.exploded"`) {
		t.Errorf("reason = %q", reason)
	}
	// A good event after the poison ones still flows: poison is terminated, not retried forever.
	p.publish(t, natsx.SubjectEventAgreement, "ev-after", agreementEvent(t, "ev-after", &bilatv1.Agreement{Id: "z", Partner: &bilatv1.EntityRef{Name: "China"}}))
	p.last(t, natsx.StreamEnriched, "bilat.enriched.agreement.CN")
	p.settled(t)
	if n := p.nats.StreamMsgs(t, natsx.StreamEnriched); n != 1 {
		t.Errorf("%d enriched messages, want 1", n)
	}
}

// TestSameEventTwiceIsEnrichedOnce: the same event stored twice in
// BILAT_EVENTS (a replay, or a publisher outside the duplicate window) is
// enriched twice but stored once, deduplicated by its event id.
func TestSameEventTwiceIsEnrichedOnce(t *testing.T) {
	p := startPipeline(t)
	data := agreementEvent(t, "ev-twice", &bilatv1.Agreement{Id: "twice", Partner: &bilatv1.EntityRef{Name: "Afghanistan"}})
	first := p.publish(t, natsx.SubjectEventAgreement, "", data)
	p.publish(t, natsx.SubjectEventAgreement, "", data)
	if n := p.nats.StreamMsgs(t, natsx.StreamEvents); n != 2 {
		t.Fatalf("BILAT_EVENTS holds %d messages, want both copies", n)
	}
	p.settled(t)
	if n := p.nats.StreamMsgs(t, natsx.StreamEnriched); n != 1 {
		t.Fatalf("BILAT_ENRICHED holds %d messages, want 1", n)
	}
	raw := p.last(t, natsx.StreamEnriched, "bilat.enriched.agreement.AF")
	out := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(raw.Data, out); err != nil {
		t.Fatal(err)
	}
	if out.Envelope.Sequence != first || raw.Header.Get(natsx.HeaderMsgID) != "ev-twice" {
		t.Errorf("kept sequence %d (want the first, %d), id %q", out.Envelope.Sequence, first, raw.Header.Get(natsx.HeaderMsgID))
	}
}

// TestEnrichmentSurvivesRestart: events published while the consumer is
// stopped are enriched when it comes back (durable consumer, nothing lost).
func TestEnrichmentSurvivesRestart(t *testing.T) {
	p := startPipeline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	p.cons.Stop(ctx)
	cancel()
	for _, id := range []string{"ev-r1", "ev-r2", "ev-r3"} {
		p.publish(t, natsx.SubjectEventAgreement, id, agreementEvent(t, id, &bilatv1.Agreement{Id: id, Partner: &bilatv1.EntityRef{Name: "Tbilisi"}}))
	}
	if n := p.nats.StreamMsgs(t, natsx.StreamEnriched); n != 0 {
		t.Fatalf("%d enriched while stopped", n)
	}
	log := testenv.Logger(t)
	svc := app.New(loadGazetteer(t), "BY", adapters.NewEnrichedPublisher(p.nats.JS), log)
	cons, err := natsx.Consume(context.Background(), p.nats.JS, ports.ConsumerConfig(), ports.EventHandler(svc), log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cons.Stop(ctx)
	}()
	p.settled(t)
	if n := p.nats.StreamMsgs(t, natsx.StreamEnriched); n != 3 {
		t.Errorf("%d enriched after restart, want 3", n)
	}
}
