package app

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// memTracker is an in-memory Tracker and UnresolvedStore.
type memTracker struct{ entries map[string]*UnresolvedEntry }

func (m *memTracker) Track(_ context.Context, seq uint64, refs []*bilatv1.EntityRef) error {
	for _, r := range refs {
		e := m.entries[r.Name]
		if e == nil {
			e = &UnresolvedEntry{Key: r.Name, Name: r.Name, Resolution: r.Resolution}
			m.entries[r.Name] = e
		}
		if !slices.Contains(e.Sequences, seq) {
			e.Sequences = append(e.Sequences, seq)
			e.Count++
		}
	}
	return nil
}

func (m *memTracker) List(context.Context) ([]UnresolvedEntry, error) {
	var out []UnresolvedEntry
	for _, e := range m.entries {
		out = append(out, *e)
	}
	return out, nil
}

func (m *memTracker) Delete(_ context.Context, key string) error {
	delete(m.entries, key)
	return nil
}

type memEvents map[uint64]Event

func (m memEvents) Get(_ context.Context, seq uint64) (Event, error) {
	ev, ok := m[seq]
	if !ok {
		return Event{}, ErrEventGone
	}
	return ev, nil
}

type memVersions map[uint64]uint32

func (m memVersions) Next(_ context.Context, seq uint64) (uint32, error) {
	m[seq]++
	return m[seq], nil
}

type memAliases map[string]string

func (m memAliases) Put(_ context.Context, alias, code string) error {
	m[alias] = code
	return nil
}

func TestAliasReenrichesTrackedEvents(t *testing.T) {
	svc, rec := newService(t)
	tr := &memTracker{entries: map[string]*UnresolvedEntry{}}
	svc.tracker = tr
	const name = "Kingdom of Kartli-Kakheti"
	ev := Event{Subject: natsx.SubjectEventAgreement, MsgID: "ev-k", StreamSequence: 5, Data: marshal(t, &bilatv1.AgreementRecorded{
		Envelope:  &bilatv1.Envelope{EventId: "ev-k"},
		Agreement: &bilatv1.Agreement{Id: "k-1", Title: "Agreement on trade", Partner: &bilatv1.EntityRef{Name: name}},
	})}
	for range 2 { // a redelivery counts once
		if err := svc.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if e := tr.entries[name]; e == nil || e.Count != 1 || !slices.Equal(e.Sequences, []uint64{5}) {
		t.Fatalf("tracked = %+v", tr.entries)
	}
	if rec.msgs[0].Subject != "bilat.enriched.agreement.unresolved" {
		t.Errorf("first subject %s", rec.msgs[0].Subject)
	}

	aliases := memAliases{}
	cur := NewCurator(svc.enricher.Gazetteer, svc, aliases, tr, memEvents{5: ev}, memVersions{}, slog.New(slog.DiscardHandler))
	if _, err := cur.AddAlias(context.Background(), name, "XX-NOPE"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := cur.AddAlias(context.Background(), " !! ", "GE"); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty alias: %v", err)
	}
	res, err := cur.AddAlias(context.Background(), name, "GE")
	if err != nil {
		t.Fatal(err)
	}
	if res.Reenriched != 1 || !slices.Equal(res.ResolvedNames, []string{name}) || aliases[name] != "GE" || len(tr.entries) != 0 {
		t.Errorf("AddAlias = %+v; stored %v; still tracked %v", res, aliases, tr.entries)
	}
	last := rec.msgs[len(rec.msgs)-1]
	out := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(last.Data, out); err != nil {
		t.Fatal(err)
	}
	if last.Subject != "bilat.enriched.agreement.GE" || last.MsgID != "ev-k-e1" ||
		out.Envelope.EnrichmentVersion != 1 || out.Envelope.Sequence != 5 || out.Agreement.Partner.MatchedAlias != name {
		t.Errorf("re-enriched = %s %s %v %v", last.Subject, last.MsgID, out.Envelope, out.Agreement.Partner)
	}
	// A second alias finds nothing left to do.
	if res, err := cur.AddAlias(context.Background(), "Kartli", "GE"); err != nil || res.Reenriched != 0 {
		t.Errorf("second alias = %+v, %v", res, err)
	}
}

func TestPreviewRecordsNothing(t *testing.T) {
	svc, rec := newService(t)
	tr := &memTracker{entries: map[string]*UnresolvedEntry{}}
	svc.tracker = tr
	out, subject, err := svc.Preview(&bilatv1.Agreement{Title: "Соглашение о научно-техническом сотрудничестве",
		Parties: []*bilatv1.Party{{Entity: &bilatv1.EntityRef{Name: "Unknown Land"}}, {Entity: &bilatv1.EntityRef{Name: "Грузия"}}}})
	if err != nil {
		t.Fatal(err)
	}
	a := out.(*bilatv1.AgreementRecorded).GetAgreement()
	if subject != "bilat.enriched.agreement.GE" || a.GetPartner().GetCode() != "GE" || len(a.GetDomainLabels()) != 1 {
		t.Errorf("preview = %s %v", subject, a)
	}
	if len(rec.msgs) != 0 || len(tr.entries) != 0 {
		t.Errorf("preview published %d messages, tracked %v", len(rec.msgs), tr.entries)
	}
	if _, _, err := svc.Preview(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil record: %v", err)
	}
}
