package projection

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// marshalRecord must give the bytes of the message with the owned fields
// cleared, whichever fields are set around them.
func TestMarshalRecordDropsOwnedFields(t *testing.T) {
	ts := timestamppb.New(timestamppb.Now().AsTime())
	for name, m := range map[string]proto.Message{
		"agreement": &bilatv1.Agreement{Id: "a1", Title: "Agreement", Revision: 3, UpdatedAt: ts,
			Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE}, Partner: &bilatv1.EntityRef{Code: "GE"}},
		"agreement without owned fields": &bilatv1.Agreement{Id: "a2", Title: "T"},
		"only owned fields":              &bilatv1.Agreement{Revision: 1, UpdatedAt: ts},
		"trade figure":                   &bilatv1.TradeFigure{Id: "f1", Revision: 2, UpdatedAt: ts, Partner: &bilatv1.EntityRef{Code: "AF"}},
	} {
		c := proto.Clone(m)
		switch v := c.(type) {
		case *bilatv1.Agreement:
			v.Revision, v.UpdatedAt = 0, nil
		case *bilatv1.TradeFigure:
			v.Revision, v.UpdatedAt = 0, nil
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalRecord(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: marshalRecord = %x, want %x", name, got, want)
		}
	}
}

// historyEntry appends the stored record as field 2 ahead of the others:
// the result must be the deterministic encoding of the whole revision.
func TestHistoryEntryIsTheRevisionEncoding(t *testing.T) {
	a := &bilatv1.Agreement{Id: "a1", Title: "Agreement", Revision: 2, Partner: &bilatv1.EntityRef{Code: "GE"}}
	env := &bilatv1.Envelope{EventId: "e1", Source: "grpc:test", RecordedAt: timestamppb.Now()}
	data, err := marshalRecord(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := historyEntry(env, data, "", false)
	if err != nil {
		t.Fatal(err)
	}
	c := proto.Clone(a).(*bilatv1.Agreement)
	c.Revision = 0
	want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&bilatv1.AgreementRevision{
		Agreement: c, EventId: env.EventId, Source: env.Source, RecordedAt: env.RecordedAt})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("historyEntry = %x, want %x", got, want)
	}
}
