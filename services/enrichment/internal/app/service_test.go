package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/domain"
)

// recorder is a Publisher that keeps what it is given; failNext makes the
// next call fail like a broken connection.
type recorder struct {
	msgs     []Message
	failNext error
}

func (r *recorder) Publish(_ context.Context, m Message) error {
	if err := r.failNext; err != nil {
		r.failNext = nil
		return err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func newService(t testing.TB) (*Service, *recorder) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "data", "gazetteer", "entities.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := domain.ParseEntities(data)
	if err != nil {
		t.Fatal(err)
	}
	g, err := domain.NewGazetteer(ents)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	return New(g, "BY", rec, slog.New(slog.DiscardHandler)), rec
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestHandleAgreement(t *testing.T) {
	svc, rec := newService(t)
	in := &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: "ev-1", Traceparent: traceparent},
		Agreement: &bilatv1.Agreement{
			Id: "minsk-tbilisi-sister-cities-2015",
			Parties: []*bilatv1.Party{
				{Entity: &bilatv1.EntityRef{Name: "Minsk"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_CITY},
				{Entity: &bilatv1.EntityRef{Name: "Тбилиси"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_CITY},
			},
			Partner: &bilatv1.EntityRef{Name: "Tbilisi"},
		},
	}
	err := svc.Handle(context.Background(), Event{Subject: natsx.SubjectEventAgreement, Data: marshal(t, in), MsgID: "ev-1", StreamSequence: 42})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 1 {
		t.Fatalf("published %d messages", len(rec.msgs))
	}
	m := rec.msgs[0]
	if m.Subject != "bilat.enriched.agreement.GE-TB" || m.MsgID != "ev-1" ||
		m.Headers[natsx.HeaderEventType] != "bilat.v1.AgreementRecorded" || m.Headers[natsx.HeaderTraceparent] != traceparent {
		t.Errorf("message = %+v", m)
	}
	out := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(m.Data, out); err != nil {
		t.Fatal(err)
	}
	if out.Envelope.Sequence != 42 || out.Envelope.EventId != "ev-1" {
		t.Errorf("envelope = %v", out.Envelope)
	}
	if p := out.Agreement.Parties; p[0].Entity.Code != "BY-HM" || p[1].Entity.Code != "GE-TB" || p[1].Entity.Name != "Тбилиси" {
		t.Errorf("parties = %v", p)
	}
	if out.Agreement.Partner.Code != "GE-TB" || out.Agreement.Partner.CanonicalName != "Tbilisi" {
		t.Errorf("partner = %v", out.Agreement.Partner)
	}
}

func TestHandleTradeFigureAndHeaders(t *testing.T) {
	svc, rec := newService(t)
	in := &bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: "ev-2"},
		Figure:   &bilatv1.TradeFigure{Reporter: &bilatv1.EntityRef{Name: "Belarus"}, Partner: &bilatv1.EntityRef{Name: "Commonwealth of Independent States"}},
	}
	err := svc.Handle(context.Background(), Event{Subject: natsx.SubjectEventTrade, Data: marshal(t, in), Traceparent: traceparent, Tracestate: "k=v", StreamSequence: 7})
	if err != nil {
		t.Fatal(err)
	}
	m := rec.msgs[0]
	if m.Subject != "bilat.enriched.trade_figure.bloc_cis" || m.Headers[natsx.HeaderEventType] != "bilat.v1.TradeFigureRecorded" ||
		m.Headers[natsx.HeaderTraceparent] != traceparent || m.Headers[natsx.HeaderTracestate] != "k=v" {
		t.Errorf("message = %+v", m)
	}
	out := &bilatv1.TradeFigureRecorded{}
	if err := proto.Unmarshal(m.Data, out); err != nil {
		t.Fatal(err)
	}
	if out.Envelope.Traceparent != traceparent || out.Envelope.Sequence != 7 || out.Figure.Reporter.Code != "BY" || out.Figure.Partner.Code != "bloc.cis" {
		t.Errorf("enriched = %v", out)
	}
}

func TestHandleUnresolvedPartner(t *testing.T) {
	svc, rec := newService(t)
	in := &bilatv1.AgreementRecorded{
		Envelope:  &bilatv1.Envelope{EventId: "ev-3"},
		Agreement: &bilatv1.Agreement{Partner: &bilatv1.EntityRef{Name: "Atlantis"}},
	}
	if err := svc.Handle(context.Background(), Event{Subject: natsx.SubjectEventAgreement, Data: marshal(t, in), StreamSequence: 1}); err != nil {
		t.Fatal(err)
	}
	out := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(rec.msgs[0].Data, out); err != nil {
		t.Fatal(err)
	}
	if rec.msgs[0].Subject != "bilat.enriched.agreement.unresolved" || out.Agreement.Partner.Name != "Atlantis" ||
		out.Agreement.Partner.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED {
		t.Errorf("subject %s, partner %v", rec.msgs[0].Subject, out.Agreement.Partner)
	}
}

func TestHandleEventIDFromHeader(t *testing.T) {
	svc, rec := newService(t)
	in := &bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Partner: &bilatv1.EntityRef{Name: "Georgia"}}}
	if err := svc.Handle(context.Background(), Event{Subject: natsx.SubjectEventAgreement, Data: marshal(t, in), MsgID: "from-header", StreamSequence: 3}); err != nil {
		t.Fatal(err)
	}
	if rec.msgs[0].MsgID != "from-header" {
		t.Errorf("msg id = %q", rec.msgs[0].MsgID)
	}
}

func TestHandlePermanentFailures(t *testing.T) {
	svc, rec := newService(t)
	noID := marshal(t, &bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Id: "x"}})
	for name, ev := range map[string]Event{
		"garbage body":       {Subject: natsx.SubjectEventAgreement, Data: []byte("\xff\xff\xff not protobuf")},
		"unknown subject":    {Subject: "bilat.events.agreement.exploded", Data: noID, MsgID: "id"},
		"no agreement":       {Subject: natsx.SubjectEventAgreement, Data: marshal(t, &bilatv1.AgreementRecorded{Envelope: &bilatv1.Envelope{EventId: "e"}}), MsgID: "e"},
		"no trade figure":    {Subject: natsx.SubjectEventTrade, Data: nil, MsgID: "e"},
		"no event id":        {Subject: natsx.SubjectEventAgreement, Data: noID},
		"agreement as trade": {Subject: natsx.SubjectEventTrade, Data: marshal(t, &bilatv1.AgreementRecorded{Envelope: &bilatv1.Envelope{EventId: "e"}, Agreement: &bilatv1.Agreement{Id: "x", Title: "t"}}), MsgID: "e"},
	} {
		if err := svc.Handle(context.Background(), ev); !errors.Is(err, ErrPermanent) {
			t.Errorf("%s: err = %v, want ErrPermanent", name, err)
		}
	}
	if len(rec.msgs) != 0 {
		t.Errorf("published %d messages for bad events", len(rec.msgs))
	}
}

func TestHandlePublishFailureIsRetryable(t *testing.T) {
	svc, rec := newService(t)
	data := marshal(t, &bilatv1.AgreementRecorded{Envelope: &bilatv1.Envelope{EventId: "ev-4"}, Agreement: &bilatv1.Agreement{Partner: &bilatv1.EntityRef{Name: "China"}}})
	ev := Event{Subject: natsx.SubjectEventAgreement, Data: data, StreamSequence: 9}
	rec.failNext = errors.New("nats: timeout")
	err := svc.Handle(context.Background(), ev)
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if err := svc.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 1 || rec.msgs[0].MsgID != "ev-4" || rec.msgs[0].Subject != "bilat.enriched.agreement.CN" {
		t.Errorf("messages = %+v", rec.msgs)
	}
}

func TestGazetteerGet(t *testing.T) {
	svc, _ := newService(t)
	g := NewGazetteer(svc.enricher.Gazetteer)
	if e, err := g.Get("GE"); err != nil || e.Name != "Georgia" {
		t.Errorf("Get(GE) = %v, %v", e, err)
	}
	if _, err := g.Get("ZZ"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(ZZ) err = %v", err)
	}
}
