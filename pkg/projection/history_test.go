package projection_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestRevisionHistory(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	v1 := agr("e1", 1, "h1", "GE", date(2017, 0, 0))
	v2 := agr("e2", 5, "h1", "GE", date(2018, 0, 0))
	v2b := agr("e2", 5, "h1", "AM", date(2018, 0, 0)) // re-enriched: moved to AM
	v2b.Envelope.EnrichmentVersion = 1
	v2b.Agreement.Title = "re-enriched"
	ret := &bilatv1.AgreementRetracted{Envelope: &bilatv1.Envelope{EventId: "e3", Sequence: 9}, AgreementId: "h1", Reason: "why"}
	replay := func() {
		for _, ev := range []*bilatv1.AgreementRecorded{v1, v2, v2b, v1} { // v1 redelivered late: stale
			if _, err := s.ApplyAgreement(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.ApplyAgreementRetraction(ctx, ret); err != nil {
			t.Fatal(err)
		}
	}
	replay()
	check := func() {
		t.Helper()
		revs, err := s.AgreementRevisions(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range revs {
			got = append(got, r.GetEventId()+"/"+r.GetAgreement().GetTitle()+"/"+r.GetAgreement().GetPartner().GetCode()+"/"+
				string(rune('0'+r.GetRevision()))+"/"+r.GetRetractionReason())
		}
		want := []string{"e1/Agreement h1 v1/GE/1/", "e2/re-enriched/AM/2/", "e3/re-enriched/AM/2/why"}
		if !slices.Equal(got, want) {
			t.Fatalf("history %q, want %q", got, want)
		}
	}
	check()
	sum1, n1, err := s.Checksum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replay() // redelivery changes nothing
	check()
	if sum, _, _ := s.Checksum(ctx); sum != sum1 {
		t.Fatal("redelivery changed the projections")
	}
	// The history is a projection: deleted with the rest, rebuilt by replay.
	if _, err := s.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, s.Keys().AgreementHistory("h1")).Result(); n != 0 {
		t.Fatal("DeleteAll left the history")
	}
	if _, err := s.AgreementRevisions(ctx, "h1"); !errors.Is(err, projection.ErrNotFound) {
		t.Fatalf("after DeleteAll: %v, want ErrNotFound", err)
	}
	for _, ev := range []*bilatv1.AgreementRecorded{v1, v2, v2b} {
		if _, err := s.ApplyAgreement(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ApplyAgreementRetraction(ctx, ret); err != nil {
		t.Fatal(err)
	}
	check()
	if sum, n, _ := s.Checksum(ctx); sum != sum1 || n != n1 {
		t.Fatalf("rebuilt checksum %s (%d keys), live %s (%d keys)", sum, n, sum1, n1)
	}
}

// HistoryRecord, which the bench's raw baseline writes, is the entry the
// Store writes for an applied version.
func TestHistoryRecordIsWhatApplyWrites(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	ev := agr("e1", 7, "h1", "GE", date(2017, 0, 0))
	ev.Envelope.Source = "jetstream:bilat.ingest.agreement"
	if _, err := s.ApplyAgreement(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, err := rdb.HGetAll(ctx, s.Keys().AgreementHistory("h1")).Result()
	if err != nil {
		t.Fatal(err)
	}
	field, value, err := projection.HistoryRecord(ev.GetEnvelope(), "GE")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[field] != string(value) {
		t.Fatalf("history HASH %q, HistoryRecord %q = %q", got, field, value)
	}
}
