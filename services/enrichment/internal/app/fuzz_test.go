package app

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// FuzzHandle: whatever the body, Handle either publishes one decodable
// event of the subject's type or fails permanently; it never panics.
func FuzzHandle(f *testing.F) {
	seed, _ := proto.Marshal(&bilatv1.AgreementRecorded{
		Envelope:  &bilatv1.Envelope{EventId: "e"},
		Agreement: &bilatv1.Agreement{Partner: &bilatv1.EntityRef{Name: "Georgia"}, Parties: []*bilatv1.Party{{Entity: &bilatv1.EntityRef{Name: "Minsk"}}}},
	})
	trade, _ := proto.Marshal(&bilatv1.TradeFigureRecorded{Envelope: &bilatv1.Envelope{EventId: "t"}, Figure: &bilatv1.TradeFigure{Partner: &bilatv1.EntityRef{Code: "AF"}}})
	f.Add(false, seed)
	f.Add(true, trade)
	f.Add(false, []byte{0xff, 0x01})
	f.Add(true, []byte{})
	svc, rec := newService(f)
	f.Fuzz(func(t *testing.T, isTrade bool, data []byte) {
		rec.msgs = rec.msgs[:0]
		subject, out := natsx.SubjectEventAgreement, proto.Message(&bilatv1.AgreementRecorded{})
		if isTrade {
			subject, out = natsx.SubjectEventTrade, &bilatv1.TradeFigureRecorded{}
		}
		err := svc.Handle(context.Background(), Event{Subject: subject, Data: data, MsgID: "id", StreamSequence: 5})
		switch {
		case err != nil && !errors.Is(err, ErrPermanent):
			t.Fatalf("non-permanent error from a local publisher: %v", err)
		case err != nil && len(rec.msgs) != 0:
			t.Fatalf("failed but published")
		case err == nil && len(rec.msgs) != 1:
			t.Fatalf("succeeded with %d messages", len(rec.msgs))
		case err == nil:
			if uerr := proto.Unmarshal(rec.msgs[0].Data, out); uerr != nil {
				t.Fatalf("published an undecodable event: %v", uerr)
			}
		}
	})
}
