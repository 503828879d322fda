package app

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/ingest/internal/domain"
)

func TestRetractionsAreValidatedAndIdempotent(t *testing.T) {
	pub, store := &memPublisher{}, &memStore{}
	s := newService(pub, store)
	ctx := context.Background()

	_, err := s.RetractAgreement(ctx, "Bad Id", "", Meta{})
	v, ok := IsValidation(err)
	if !ok || len(v.Violations) != 2 || v.Violations[0].Field != "agreement_id" || v.Violations[1].Field != "reason" {
		t.Fatalf("invalid retraction: %v", err)
	}

	first, err := s.RetractAgreement(ctx, "a-1", " recorded twice ", Meta{})
	if err != nil || first.Duplicate || first.RecordID != "a-1" {
		t.Fatalf("retract = %+v, %v", first, err)
	}
	again, err := s.RetractAgreement(ctx, "a-1", "recorded twice", Meta{})
	if err != nil || !again.Duplicate || again.EventID != first.EventID {
		t.Fatalf("same retraction again = %+v, %v; want duplicate of %s", again, err, first.EventID)
	}
	tr, err := s.RetractTradeFigure(ctx, "a-1", "recorded twice", Meta{})
	if err != nil || tr.Duplicate || tr.EventID == first.EventID {
		t.Fatalf("trade retraction with the same id = %+v, %v; want a new event", tr, err)
	}
	if len(pub.events) != 2 {
		t.Fatalf("published %d events, want 2", len(pub.events))
	}
	ev := pub.events[0]
	if ev.RecordType != domain.TypeAgreementRetraction || ev.EventType != "bilat.v1.AgreementRetracted" {
		t.Fatalf("event = %s %s", ev.RecordType, ev.EventType)
	}
	var got bilatv1.AgreementRetracted
	if err := proto.Unmarshal(ev.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.GetAgreementId() != "a-1" || got.GetReason() != "recorded twice" || got.GetEnvelope().GetEventId() != first.EventID ||
		!got.GetEnvelope().GetRecordedAt().AsTime().Equal(fixedNow) {
		t.Fatalf("payload = %v", &got)
	}
	if _, err := s.RetractTradeFigure(ctx, "f1", string(make([]byte, domain.MaxReasonLength+1)), Meta{}); err == nil {
		t.Fatal("over-long reason accepted")
	}
}
