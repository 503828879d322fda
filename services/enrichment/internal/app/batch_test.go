package app

import (
	"context"
	"errors"
	"testing"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// batchRecorder is recorder with PublishAll, failing the message ids in
// fail.
type batchRecorder struct {
	*recorder
	calls int
	fail  map[string]bool
}

func (b *batchRecorder) PublishAll(ctx context.Context, ms []Message) []error {
	b.calls++
	errs := make([]error, len(ms))
	for i, m := range ms {
		if b.fail[m.MsgID] {
			errs[i] = errors.New("nats: timeout")
			continue
		}
		errs[i] = b.Publish(ctx, m)
	}
	return errs
}

// A batch publishes the enriched events and retractions in order with
// one call; a poison event and a failed publish fail only themselves.
func TestHandleBatch(t *testing.T) {
	svc, rec := newService(t)
	pub := &batchRecorder{recorder: rec, fail: map[string]bool{"ev-4": true}}
	svc.pub = pub
	agr := func(id, partner string) []byte {
		return marshal(t, &bilatv1.AgreementRecorded{Envelope: &bilatv1.Envelope{EventId: id},
			Agreement: &bilatv1.Agreement{Id: "a-" + id, Partner: &bilatv1.EntityRef{Name: partner}}})
	}
	evs := []Event{
		{Subject: natsx.SubjectEventAgreement, Data: agr("ev-1", "Georgia"), StreamSequence: 1},
		{Subject: "bilat.events.agreement.retracted", Data: marshal(t, &bilatv1.AgreementRetracted{Envelope: &bilatv1.Envelope{EventId: "ev-2"}, AgreementId: "a-x", Reason: "error"}), StreamSequence: 2},
		{Subject: natsx.SubjectEventAgreement, Data: []byte("not protobuf \xff"), StreamSequence: 3},
		{Subject: natsx.SubjectEventAgreement, Data: agr("ev-4", "China"), StreamSequence: 4},
		{Subject: natsx.SubjectEventTrade, Data: marshal(t, &bilatv1.TradeFigureRecorded{Envelope: &bilatv1.Envelope{EventId: "ev-5"},
			Figure: &bilatv1.TradeFigure{Reporter: &bilatv1.EntityRef{Name: "Belarus"}, Partner: &bilatv1.EntityRef{Name: "Afghanistan"}}}), StreamSequence: 5},
	}
	errs := svc.HandleBatch(context.Background(), evs)
	if errs[0] != nil || errs[1] != nil || errs[4] != nil {
		t.Fatalf("errors %v", errs)
	}
	if !errors.Is(errs[2], ErrPermanent) {
		t.Errorf("undecodable event: %v, want permanent", errs[2])
	}
	if errs[3] == nil || errors.Is(errs[3], ErrPermanent) {
		t.Errorf("failed publish: %v, want a retryable error", errs[3])
	}
	if pub.calls != 1 {
		t.Errorf("%d publish calls, want 1", pub.calls)
	}
	var got []string
	for _, m := range rec.msgs {
		got = append(got, m.Subject+" "+m.MsgID)
	}
	want := []string{"bilat.enriched.agreement.GE ev-1", "bilat.enriched.agreement.retracted ev-2", "bilat.enriched.trade_figure.AF ev-5"}
	if len(got) != len(want) {
		t.Fatalf("published %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("published %q, want %q", got, want)
		}
	}
}
