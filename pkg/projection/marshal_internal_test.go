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

// A history entry holds the metadata and the partner; parseHistoryEntry
// reads back what historyEntry and the history script wrote.
func TestHistoryEntryRoundTrip(t *testing.T) {
	env := &bilatv1.Envelope{EventId: "e1", Source: "grpc:test", RecordedAt: timestamppb.Now(), Sequence: 7}
	entry, err := historyEntry(env, "GE", "", false)
	if err != nil {
		t.Fatal(err)
	}
	r, partner, err := parseHistoryEntry("7", "7168:"+string(entry))
	if err != nil {
		t.Fatal(err)
	}
	if partner != "GE" || r.Sequence != 7 || r.OrderKey != 7168 || r.GetEventId() != "e1" || r.GetSource() != "grpc:test" ||
		!proto.Equal(r.GetRecordedAt(), env.GetRecordedAt()) || r.GetAgreement() != nil {
		t.Errorf("round trip = %v, partner %q", r, partner)
	}
	if _, _, err := parseHistoryEntry("7", "7168"); err == nil {
		t.Error("an entry without a partner parsed")
	}
}
