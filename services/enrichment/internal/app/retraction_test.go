package app

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestRetractionsPassThroughWithSequence(t *testing.T) {
	s, rec := newService(t)
	ctx := context.Background()
	in := &bilatv1.TradeFigureRetracted{Envelope: &bilatv1.Envelope{EventId: "evt-1"}, FigureId: "f-1", Reason: "typo"}
	if err := s.Handle(ctx, Event{Subject: "bilat.events.trade_figure.retracted", Data: marshal(t, in), StreamSequence: 42}); err != nil {
		t.Fatal(err)
	}
	if len(rec.msgs) != 1 {
		t.Fatalf("published %d messages", len(rec.msgs))
	}
	m := rec.msgs[0]
	var out bilatv1.TradeFigureRetracted
	if err := proto.Unmarshal(m.Data, &out); err != nil {
		t.Fatal(err)
	}
	if m.Subject != "bilat.enriched.trade_figure.retracted" || m.MsgID != "evt-1" ||
		m.Headers[natsx.HeaderEventType] != "bilat.v1.TradeFigureRetracted" ||
		out.GetEnvelope().GetSequence() != 42 || out.GetFigureId() != "f-1" || out.GetReason() != "typo" {
		t.Fatalf("published %s %s %v: %v", m.Subject, m.MsgID, m.Headers, &out)
	}
	err := s.Handle(ctx, Event{Subject: "bilat.events.agreement.retracted", Data: marshal(t, &bilatv1.AgreementRetracted{}), MsgID: "evt-2", StreamSequence: 43})
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("retraction without id: err = %v", err)
	}
}
