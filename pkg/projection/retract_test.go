package projection_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestAgreementStatsCountLevelsStatusKind(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	e := agr("e1", 1, "a1", "GE", date(2018, 3, 0), bilatv1.Domain_DOMAIN_TRADE)
	e.Agreement.Status = bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED
	e.Agreement.Kind = bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM
	e.Agreement.Parties = []*bilatv1.Party{{Level: bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT}, {Level: bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT}, {}}
	mustApply(t, s, e)
	// A revision moves its counts: the new version is in force, a treaty, signed in 2019.
	e2 := agr("e2", 2, "a1", "GE", date(2019, 0, 0), bilatv1.Domain_DOMAIN_TRADE)
	e2.Agreement.Status = bilatv1.AgreementStatus_AGREEMENT_STATUS_IN_FORCE
	e2.Agreement.Kind = bilatv1.AgreementKind_AGREEMENT_KIND_TREATY
	mustApply(t, s, e2)
	mustApply(t, s, agr("e3", 3, "a2", "GE", date(2019, 5, 1)))

	st, err := s.AgreementStats(ctx, "GE", 2019, 2019)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range st.Counts {
		got[c.Dimension+"="+c.Value] += c.Count
	}
	want := map[string]int64{
		"domain=trade": 1, "domain=none": 1, "level=unspecified": 2,
		"status=in_force": 1, "status=unspecified": 1, "kind=treaty": 1, "kind=unspecified": 1,
	}
	if len(got) != len(want) || st.Distinct != 2 {
		t.Fatalf("stats = %v (distinct %d), want %v (2)", got, st.Distinct, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("stats = %v, want %v", got, want)
		}
	}
	old, err := s.AgreementStats(ctx, "GE", 2018, 2018)
	if err != nil || len(old.Counts) != 0 || old.Distinct != 0 {
		t.Fatalf("2018 after the revision = %+v, %v; want nothing", old, err)
	}
}

func TestRetractionRemovesAndTombstones(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	mustApply(t, s, agr("e1", 10, "a1", "GE", date(2018, 1, 1), bilatv1.Domain_DOMAIN_TRADE))
	ret := &bilatv1.AgreementRetracted{Envelope: &bilatv1.Envelope{EventId: "r1", Sequence: 20}, AgreementId: "a1"}
	for i, want := range []projection.Outcome{projection.RetractedOutcome, projection.Duplicate} {
		out, err := s.ApplyAgreementRetraction(ctx, ret)
		if err != nil || out != want {
			t.Fatalf("retraction %d = %v, %v; want %v", i, out, err, want)
		}
	}
	if _, err := s.GetAgreement(ctx, "a1"); !errors.Is(err, projection.ErrNotFound) {
		t.Fatalf("retracted agreement: err = %v", err)
	}
	if h := countsHash(t, rdb, s, "GE"); len(h) != 0 {
		t.Fatalf("counts after retraction = %v", h)
	}
	if n, _ := rdb.ZCard(ctx, s.Keys().AllAgreements()).Result(); n != 0 {
		t.Fatalf("global index keeps %d entries", n)
	}
	// An older version arriving late stays out; a newer one comes back.
	if out, err := s.ApplyAgreement(ctx, agr("e0", 15, "a1", "GE", date(2018, 1, 1))); err != nil || out != projection.Stale {
		t.Fatalf("older version after retraction = %v, %v", out, err)
	}
	mustApply(t, s, agr("e3", 30, "a1", "AM", date(2019, 1, 1)))
	a, err := s.GetAgreement(ctx, "a1")
	if err != nil || a.GetRevision() != 2 {
		t.Fatalf("re-recorded = %v, %v; want revision 2", a, err)
	}

	// Retraction of an id not seen yet: the later-arriving older version stays out.
	tr := &bilatv1.TradeFigureRetracted{Envelope: &bilatv1.Envelope{EventId: "r2", Sequence: 50}, FigureId: "f1"}
	if out, err := s.ApplyTradeRetraction(ctx, tr); err != nil || out != projection.RetractedOutcome {
		t.Fatalf("retract unknown figure = %v, %v", out, err)
	}
	f := fig("e4", 40, "f1", "AF", "BY", 2018, 0, 0, bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, 0, 1, nil)
	if out, err := s.ApplyTradeFigure(ctx, f); err != nil || out != projection.Stale {
		t.Fatalf("older figure after retraction = %v, %v", out, err)
	}
	if pts, err := s.GetTradeSeries(ctx, projection.TradeFilter{Partner: "AF"}); err != nil || len(pts) != 0 {
		t.Fatalf("series after retraction = %v, %v", pts, err)
	}
	if _, err := s.ApplyTradeRetraction(ctx, &bilatv1.TradeFigureRetracted{Envelope: &bilatv1.Envelope{EventId: "x"}, FigureId: "f1"}); !errors.Is(err, projection.ErrInvalidEvent) {
		t.Fatalf("retraction without sequence: err = %v", err)
	}
}

// TestChecksumDependsOnlyOnEvents applies the same events to two stores
// with different clocks: recorded_at stamps updated_at, so the digests match;
// DeleteAll empties the prefix and the digest changes.
func TestChecksumDependsOnlyOnEvents(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	events := func() []*bilatv1.AgreementRecorded {
		e := agr("e1", 1, "a1", "GE", date(2018, 1, 1), bilatv1.Domain_DOMAIN_TRADE)
		e.Envelope.RecordedAt = timestamppb.New(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
		return []*bilatv1.AgreementRecorded{e}
	}
	digest := func(prefix string, now time.Time) string {
		s := projection.New(r.Client, projection.WithPrefix(prefix), projection.WithClock(func() time.Time { return now }))
		for _, e := range events() {
			if _, err := s.ApplyAgreement(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		sum, n, err := s.Checksum(ctx)
		if err != nil || n == 0 {
			t.Fatalf("checksum = %q, %d, %v", sum, n, err)
		}
		a, err := s.GetAgreement(ctx, "a1")
		if err != nil || !a.GetUpdatedAt().AsTime().Equal(events()[0].Envelope.RecordedAt.AsTime()) {
			t.Fatalf("updated_at = %v, %v; want recorded_at", a.GetUpdatedAt(), err)
		}
		if deleted, err := s.DeleteAll(ctx); err != nil || deleted != n {
			t.Fatalf("DeleteAll = %d, %v; want %d", deleted, err, n)
		}
		if _, m, _ := s.Checksum(ctx); m != 0 {
			t.Fatalf("%d keys left after DeleteAll", m)
		}
		return sum
	}
	// The same prefix twice (keys are part of the digest), at different times.
	a := digest("t1:", time.Unix(1, 0))
	b := digest("t1:", time.Unix(2, 0))
	if a != b {
		t.Fatalf("digests differ: %s vs %s", a, b)
	}
}

func mustApply(t *testing.T, s *projection.Store, e *bilatv1.AgreementRecorded) {
	t.Helper()
	if _, err := s.ApplyAgreement(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}
