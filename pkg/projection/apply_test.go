package projection_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

const (
	trade   = bilatv1.Domain_DOMAIN_TRADE
	culture = bilatv1.Domain_DOMAIN_CULTURE
	health  = bilatv1.Domain_DOMAIN_HEALTH
	science = bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY
)

func TestApplyAgreementWritesEveryProjection(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	ev := agr("e1", 7, "ge-2018-trade", "GE", date(2018, 5, 0), trade, culture, trade)
	applyA(t, s, ev, projection.Applied)

	want := map[string]string{"trade|2018": "1", "culture|2018": "1", "all|2018": "1", "total": "1"}
	if got := countsHash(t, rdb, s, "GE"); !equalMaps(got, want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
	k := s.Keys()
	if got, want := k.AgreementCounts("GE"), "bilat:{GE}:agr:counts"; got != want {
		t.Fatalf("counts key %q, want %q", got, want)
	}
	for _, key := range []string{k.AgreementsByDate("GE"), k.AgreementsByDomain("GE", "trade"),
		k.AgreementsByDomain("GE", "culture"), k.AllAgreements(), k.AllAgreementsByDomain("trade")} {
		sc, err := rdb.ZScore(ctx, key, "ge-2018-trade").Result()
		if err != nil || sc != 20180500 {
			t.Fatalf("%s score = %v, %v; want 20180500", key, sc, err)
		}
	}
	if loc := rdb.Get(ctx, k.AgreementLocation("ge-2018-trade")).Val(); loc != "GE" {
		t.Fatalf("location = %q", loc)
	}
	if !rdb.SIsMember(ctx, k.Partners(), "GE").Val() || !rdb.SIsMember(ctx, k.Applied("GE"), "e1").Val() {
		t.Fatal("partner or applied marker missing")
	}
	got, err := s.GetAgreement(ctx, "ge-2018-trade")
	if err != nil {
		t.Fatal(err)
	}
	wantA := proto.Clone(ev.GetAgreement()).(*bilatv1.Agreement)
	wantA.Revision = 1
	wantA.UpdatedAt = timestamp(fixedNow)
	if !proto.Equal(wantA, got) {
		t.Fatalf("stored agreement = %v\nwant %v", got, wantA)
	}
	h := rdb.HGetAll(ctx, k.AgreementDoc("GE", "ge-2018-trade")).Val()
	seq := strconv.FormatUint(projection.OrderKey(&bilatv1.Envelope{Sequence: 7}), 10)
	if h["event"] != "e1" || h["seq"] != seq || h["rev"] != "1" {
		t.Fatalf("version fields = event %q, seq %q, rev %q; want e1, %s, 1", h["event"], h["seq"], h["rev"], seq)
	}
}

func TestApplySameEventThreeTimesCountsOnce(t *testing.T) {
	s, rdb := newStore(t)
	ev := agr("e1", 3, "a1", "GE", date(2017, 0, 0), science)
	applyA(t, s, ev, projection.Applied)
	before := countsHash(t, rdb, s, "GE")
	applyA(t, s, ev, projection.Duplicate)
	applyA(t, s, ev, projection.Duplicate)
	if got := countsHash(t, rdb, s, "GE"); !equalMaps(got, before) {
		t.Fatalf("counts changed on redelivery: %v -> %v", before, got)
	}
	a, err := s.GetAgreement(context.Background(), "a1")
	if err != nil || a.GetRevision() != 1 {
		t.Fatalf("revision after duplicates = %d, %v", a.GetRevision(), err)
	}
}

func TestNewerVersionReplacesContribution(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	applyA(t, s, agr("e1", 10, "a1", "GE", date(2017, 3, 1), trade, culture), projection.Applied)
	applyA(t, s, agr("e2", 11, "a2", "GE", date(2017, 0, 0), trade), projection.Applied)
	applyA(t, s, agr("e3", 20, "a1", "GE", date(2020, 0, 0), health), projection.Applied)

	want := map[string]string{"trade|2017": "1", "all|2017": "1", "health|2020": "1", "all|2020": "1", "total": "2"}
	if got := countsHash(t, rdb, s, "GE"); !equalMaps(got, want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
	k := s.Keys()
	if m := zmembers(t, rdb, k.AgreementsByDomain("GE", "culture")); len(m) != 0 {
		t.Fatalf("culture index still holds %v", m)
	}
	if m := zmembers(t, rdb, k.AllAgreementsByDomain("trade")); !slices.Equal(m, []string{"a2"}) {
		t.Fatalf("global trade index = %v", m)
	}
	if m := zmembers(t, rdb, k.AllAgreementsByDomain("health")); !slices.Equal(m, []string{"a1"}) {
		t.Fatalf("global health index = %v", m)
	}
	if sc := rdb.ZScore(ctx, k.AgreementsByDate("GE"), "a1").Val(); sc != 20200000 {
		t.Fatalf("date score = %v", sc)
	}
	a, err := s.GetAgreement(ctx, "a1")
	if err != nil || a.GetRevision() != 2 || a.GetSignedOn().GetYear() != 2020 {
		t.Fatalf("a1 = %v, %v", a, err)
	}
}

func TestOlderVersionAfterNewerChangesNothing(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	newer := agr("e2", 20, "a1", "GE", date(2020, 1, 1), health)
	older := agr("e1", 10, "a1", "GE", date(2015, 1, 1), trade)
	applyA(t, s, newer, projection.Applied)
	before := countsHash(t, rdb, s, "GE")
	applyA(t, s, older, projection.Stale)
	applyA(t, s, older, projection.Duplicate)
	applyA(t, s, newer, projection.Duplicate)
	if got := countsHash(t, rdb, s, "GE"); !equalMaps(got, before) {
		t.Fatalf("counts = %v, want %v", got, before)
	}
	a, err := s.GetAgreement(ctx, "a1")
	if err != nil || a.GetRevision() != 1 || a.GetSignedOn().GetYear() != 2020 {
		t.Fatalf("a1 = %v, %v", a, err)
	}
	if !rdb.SIsMember(ctx, s.Keys().Applied("GE"), "e1").Val() {
		t.Fatal("stale event not marked applied")
	}
}

func TestPartnerMove(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []int // indexes into the versions, in delivery order
		rev   int32
	}{
		{"in order", []int{0, 1}, 2},
		{"newer first", []int{1, 0}, 1},
		{"in order with redeliveries", []int{0, 1, 0, 1, 0}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rdb := newStore(t)
			ctx := context.Background()
			versions := []*bilatv1.AgreementRecorded{
				agr("e1", 10, "a1", "", date(2019, 0, 0), trade), // partner unresolved at first
				agr("e2", 20, "a1", "AM", date(2019, 6, 0), trade, science),
			}
			applyA(t, s, agr("e0", 5, "other", "", date(2001, 0, 0)), projection.Applied)
			for _, i := range tc.order {
				if _, err := s.ApplyAgreement(ctx, versions[i]); err != nil {
					t.Fatal(err)
				}
			}
			wantU := map[string]string{"none|2001": "1", "all|2001": "1", "total": "1"}
			if got := countsHash(t, rdb, s, projection.Unresolved); !equalMaps(got, wantU) {
				t.Fatalf("unresolved counts = %v, want %v", got, wantU)
			}
			wantAM := map[string]string{"trade|2019": "1", "science_technology|2019": "1", "all|2019": "1", "total": "1"}
			if got := countsHash(t, rdb, s, "AM"); !equalMaps(got, wantAM) {
				t.Fatalf("AM counts = %v, want %v", got, wantAM)
			}
			k := s.Keys()
			if h := rdb.HGetAll(ctx, k.AgreementDoc(projection.Unresolved, "a1")).Val(); h["pb"] != "" || h["seq"] != "" {
				t.Fatalf("old partner still holds the document: %v", h)
			}
			if m := zmembers(t, rdb, k.AgreementsByDate(projection.Unresolved)); !slices.Equal(m, []string{"other"}) {
				t.Fatalf("unresolved date index = %v", m)
			}
			if loc := rdb.Get(ctx, k.AgreementLocation("a1")).Val(); loc != "AM" {
				t.Fatalf("location = %q", loc)
			}
			if m := zmembers(t, rdb, k.AllAgreements()); !slices.Equal(m, []string{"other", "a1"}) {
				t.Fatalf("global index = %v", m)
			}
			a, err := s.GetAgreement(ctx, "a1")
			if err != nil || a.GetPartner().GetCode() != "AM" || a.GetRevision() != tc.rev {
				t.Fatalf("a1 = %v, %v; want partner AM revision %d", a, err, tc.rev)
			}
		})
	}
}

func TestInvalidEvents(t *testing.T) {
	s, _ := newStore(t)
	for name, ev := range map[string]*bilatv1.AgreementRecorded{
		"no envelope":  {Agreement: &bilatv1.Agreement{Id: "a"}},
		"no sequence":  {Envelope: &bilatv1.Envelope{EventId: "e"}, Agreement: &bilatv1.Agreement{Id: "a"}},
		"no agreement": {Envelope: &bilatv1.Envelope{EventId: "e", Sequence: 1}},
		"no id":        agr("e", 1, "", "GE", nil),
		"bad partner":  agr("e", 1, "a", "G}E", nil),
	} {
		if _, err := s.ApplyAgreement(context.Background(), ev); !errors.Is(err, projection.ErrInvalidEvent) {
			t.Errorf("%s: err = %v, want ErrInvalidEvent", name, err)
		}
	}
	bad := fig("e", 1, "f", "GE", "B Y", 2018, 0, 0, 1, 1, 1, nil)
	if _, err := s.ApplyTradeFigure(context.Background(), bad); !errors.Is(err, projection.ErrInvalidEvent) {
		t.Errorf("bad reporter: err = %v, want ErrInvalidEvent", err)
	}
}

func TestTradeFiguresPerKey(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	const (
		turnover = bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
		exports  = bilatv1.TradeFlow_TRADE_FLOW_EXPORTS
		imports  = bilatv1.TradeFlow_TRADE_FLOW_IMPORTS
		goods    = bilatv1.TradeScope_TRADE_SCOPE_GOODS
		unspec   = bilatv1.TradeScope_TRADE_SCOPE_UNSPECIFIED
	)
	evs := []*bilatv1.TradeFigureRecorded{
		fig("t1", 1, "f-2018-to-a", "AF", "BY", 2018, 0, 0, turnover, unspec, 100, date(2019, 1, 0)),
		fig("t2", 2, "f-2018-to-b", "AF", "BY", 2018, 0, 0, turnover, unspec, 110, date(2019, 3, 0)),
		fig("t3", 3, "f-2018-ex", "AF", "BY", 2018, 0, 0, exports, goods, 60, nil),
		fig("t4", 4, "f-2017-im", "AF", "BY", 2017, 0, 0, imports, goods, 30, nil),
		fig("t5", 5, "f-2018-h1", "AF", "BY", 2018, 1, 6, turnover, unspec, 50, nil),
		fig("t6", 6, "f-2018-region", "AF", "BY-HM", 2018, 0, 0, turnover, unspec, 5, nil),
		fig("t7", 7, "f-other", "GE", "BY", 2018, 0, 0, turnover, unspec, 1, nil),
	}
	for _, ev := range evs {
		applyT(t, s, ev, projection.Applied)
	}
	applyT(t, s, evs[0], projection.Duplicate)

	k := s.Keys()
	if key := k.TradeFigures("AF", turnover); key != "bilat:{AF}:trade:figs:turnover" {
		t.Fatalf("figure index key = %q", key)
	}
	if key := k.TradeFigures("AF", 99); key != "bilat:{AF}:trade:figs:other" {
		t.Fatalf("figure index key of an unknown flow = %q", key)
	}
	members := func(flow bilatv1.TradeFlow, min, max string) []string {
		t.Helper()
		m, err := rdb.ZRangeByScore(ctx, k.TradeFigures("AF", flow), &redis.ZRangeBy{Min: min, Max: max}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m, want := members(turnover, "20180000", "20180000"), []string{"BY-HM|2018|turnover|unspecified|f-2018-region",
		"BY|2018|turnover|unspecified|f-2018-to-a", "BY|2018|turnover|unspecified|f-2018-to-b"}; !slices.Equal(m, want) {
		t.Fatalf("2018 turnover index members = %v, want %v", m, want)
	}
	if m, want := members(exports, "-inf", "+inf"), []string{"BY|2018|exports|goods|f-2018-ex"}; !slices.Equal(m, want) {
		t.Fatalf("exports index members = %v, want %v", m, want)
	}
	if n := rdb.HLen(ctx, k.TradeCurrent("AF")).Val(); n != 6 {
		t.Fatalf("AF current figures = %d, want 6", n)
	}

	revisions := map[string]int32{}
	for _, ev := range evs {
		revisions[ev.GetFigure().GetId()] = 1
	}
	type pt struct {
		reporter string
		period   string
		flow     bilatv1.TradeFlow
		ids      []string
	}
	series := func(f projection.TradeFilter) []pt {
		t.Helper()
		ps, err := s.GetTradeSeries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []pt
		for _, p := range ps {
			var ids []string
			for _, f := range p.GetFigures() {
				ids = append(ids, f.GetId())
				if want := revisions[f.GetId()]; f.GetRevision() != want {
					t.Fatalf("figure %s revision %d, want %d", f.GetId(), f.GetRevision(), want)
				}
			}
			out = append(out, pt{p.GetReporter(), projection.PeriodKey(p.GetPeriod()), p.GetFlow(), ids})
		}
		return out
	}
	all := series(projection.TradeFilter{Partner: "AF"})
	want := []pt{
		{"BY", "2017", imports, []string{"f-2017-im"}},
		{"BY", "2018", turnover, []string{"f-2018-to-b", "f-2018-to-a"}}, // newest source first
		{"BY-HM", "2018", turnover, []string{"f-2018-region"}},
		{"BY", "2018", exports, []string{"f-2018-ex"}},
		{"BY", "2018-01..06", turnover, []string{"f-2018-h1"}},
	}
	if !reflect.DeepEqual(want, all) {
		t.Fatalf("series = %v\nwant %v", all, want)
	}
	got := series(projection.TradeFilter{Partner: "AF", Reporter: "BY", Flow: turnover, FromYear: 2018, ToYear: 2018})
	want = []pt{
		{"BY", "2018", turnover, []string{"f-2018-to-b", "f-2018-to-a"}},
		{"BY", "2018-01..06", turnover, []string{"f-2018-h1"}},
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("filtered series = %v\nwant %v", got, want)
	}
	if got := series(projection.TradeFilter{Partner: "XX"}); len(got) != 0 {
		t.Fatalf("unknown partner series = %v", got)
	}

	// A new version moves the figure to another key; an older one is ignored.
	applyT(t, s, fig("t8", 8, "f-2018-ex", "AF", "BY", 2018, 0, 0, imports, goods, 65, nil), projection.Applied)
	applyT(t, s, fig("t3b", 3, "f-2018-ex", "AF", "BY", 2018, 0, 0, exports, goods, 60, nil), projection.Stale)
	revisions["f-2018-ex"] = 2
	if m := members(exports, "-inf", "+inf"); len(m) != 0 {
		t.Fatalf("the replaced version's member left in the exports index: %v", m)
	}
	if _, err := rdb.ZScore(ctx, k.TradeFigures("AF", imports), "BY|2018|imports|goods|f-2018-ex").Result(); err != nil {
		t.Fatalf("the new version's member in the imports index: %v", err)
	}
	if got := series(projection.TradeFilter{Partner: "AF", Flow: exports}); len(got) != 0 {
		t.Fatalf("exports after the figure became imports = %v", got)
	}
	got = series(projection.TradeFilter{Partner: "AF", Flow: imports})
	want = []pt{
		{"BY", "2017", imports, []string{"f-2017-im"}},
		{"BY", "2018", imports, []string{"f-2018-ex"}},
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("after revision = %v\nwant %v", got, want)
	}

	// Moving a figure to another partner takes it out of the first.
	applyT(t, s, fig("t9", 9, "f-2017-im", "GE", "BY", 2017, 0, 0, imports, goods, 30, nil), projection.Applied)
	revisions["f-2017-im"] = 2 // revisions keep counting across a partner move
	if got := series(projection.TradeFilter{Partner: "AF", FromYear: 2017, ToYear: 2017}); len(got) != 0 {
		t.Fatalf("AF 2017 after move = %v", got)
	}
	if got := series(projection.TradeFilter{Partner: "GE", Flow: imports}); len(got) != 1 || got[0].ids[0] != "f-2017-im" {
		t.Fatalf("GE imports after move = %v", got)
	}
	if loc := rdb.Get(ctx, k.TradeLocation("f-2017-im")).Val(); loc != "GE" {
		t.Fatalf("trade location = %q", loc)
	}
}

// Flows this build does not know share one figure index, which a series
// of one of them filters; a figure leaves its flow's index when a revision
// changes its flow, when it moves to another partner and when it is
// retracted.
func TestTradeFigureIndexPerFlow(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	const (
		turnover = bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
		goods    = bilatv1.TradeScope_TRADE_SCOPE_GOODS
	)
	k := s.Keys()
	applyT(t, s, fig("u1", 1, "f-98", "AF", "BY", 2018, 0, 0, 98, goods, 1, nil), projection.Applied)
	applyT(t, s, fig("u2", 2, "f-99", "AF", "BY", 2018, 0, 0, 99, goods, 2, nil), projection.Applied)
	applyT(t, s, fig("u3", 3, "f-to", "AF", "BY", 2018, 0, 0, turnover, goods, 3, nil), projection.Applied)
	ids := func(f projection.TradeFilter) []string {
		t.Helper()
		ps, err := s.GetTradeSeries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			for _, fg := range p.GetFigures() {
				out = append(out, fg.GetId())
			}
		}
		slices.Sort(out)
		return out
	}
	index := func(flow bilatv1.TradeFlow) int64 { return rdb.ZCard(ctx, k.TradeFigures("AF", flow)).Val() }
	if n := index(99); n != 2 {
		t.Fatalf("the other flows' index holds %d figures, want 2", n)
	}
	if got, want := ids(projection.TradeFilter{Partner: "AF", Flow: 99}), []string{"f-99"}; !slices.Equal(got, want) {
		t.Fatalf("flow 99 = %v, want %v", got, want)
	}
	if got, want := ids(projection.TradeFilter{Partner: "AF"}), []string{"f-98", "f-99", "f-to"}; !slices.Equal(got, want) {
		t.Fatalf("every flow = %v, want %v", got, want)
	}

	// A revision that names a known flow moves the figure out of "other".
	applyT(t, s, fig("u4", 4, "f-99", "AF", "BY", 2018, 0, 0, turnover, goods, 4, nil), projection.Applied)
	if n := index(99); n != 1 {
		t.Fatalf("the other flows' index holds %d figures after the revision, want 1", n)
	}
	if got, want := ids(projection.TradeFilter{Partner: "AF", Flow: turnover}), []string{"f-99", "f-to"}; !slices.Equal(got, want) {
		t.Fatalf("turnover = %v, want %v", got, want)
	}

	// A move to another partner and a retraction take figures out.
	applyT(t, s, fig("u5", 5, "f-98", "GE", "BY", 2018, 0, 0, 98, goods, 5, nil), projection.Applied)
	retract := &bilatv1.TradeFigureRetracted{Envelope: &bilatv1.Envelope{EventId: "u6", Sequence: 6}, FigureId: "f-to"}
	if out, err := s.ApplyTradeRetraction(ctx, retract); err != nil || out != projection.RetractedOutcome {
		t.Fatalf("retract: %v, %v", out, err)
	}
	if got, want := ids(projection.TradeFilter{Partner: "AF"}), []string{"f-99"}; !slices.Equal(got, want) {
		t.Fatalf("AF after the move and the retraction = %v, want %v", got, want)
	}
	for _, key := range k.TradeFigureIndexes("AF") {
		if n, want := rdb.ZCard(ctx, key).Val(), int64(0); key == k.TradeFigures("AF", turnover) {
			if n != 1 {
				t.Fatalf("%s holds %d figures, want 1", key, n)
			}
		} else if n != want {
			t.Fatalf("%s holds %d figures, want none", key, n)
		}
	}
	if got, want := ids(projection.TradeFilter{Partner: "GE", Flow: 98}), []string{"f-98"}; !slices.Equal(got, want) {
		t.Fatalf("GE flow 98 = %v, want %v", got, want)
	}
}

func TestAgreementCounts(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	applyA(t, s, agr("e1", 1, "a1", "GE", date(2017, 0, 0), trade, culture), projection.Applied)
	applyA(t, s, agr("e2", 2, "a2", "GE", date(2018, 2, 0), trade), projection.Applied)
	applyA(t, s, agr("e3", 3, "a3", "GE", nil), projection.Applied)
	applyA(t, s, agr("e4", 4, "a4", "GE", date(2019, 0, 0), culture), projection.Applied)

	type c struct {
		d bilatv1.Domain
		y int32
		n int64
	}
	check := func(from, to int32, want []c, total int64) {
		t.Helper()
		resp, err := s.AgreementCounts(ctx, "GE", from, to)
		if err != nil {
			t.Fatal(err)
		}
		var got []c
		for _, x := range resp.GetCounts() {
			got = append(got, c{x.GetDomain(), x.GetYear(), x.GetCount()})
		}
		if !reflect.DeepEqual(want, got) || resp.GetTotalAgreements() != total {
			t.Fatalf("[%d,%d] total %d (want %d), counts %v, want %v", from, to, resp.GetTotalAgreements(), total, got, want)
		}
	}
	check(0, 0, []c{{0, 0, 1}, {trade, 2017, 1}, {culture, 2017, 1}, {trade, 2018, 1}, {culture, 2019, 1}}, 4)
	check(2017, 2018, []c{{trade, 2017, 1}, {culture, 2017, 1}, {trade, 2018, 1}}, 2)
	check(2018, 0, []c{{trade, 2018, 1}, {culture, 2019, 1}}, 2)
	check(0, 2017, []c{{trade, 2017, 1}, {culture, 2017, 1}}, 1)

	resp, err := s.AgreementCounts(ctx, "XX", 0, 0)
	if err != nil || len(resp.GetCounts()) != 0 || resp.GetTotalAgreements() != 0 {
		t.Fatalf("unknown partner = %v, %v", resp, err)
	}
}

// A re-enriched event (same sequence, higher enrichment version) is a newer
// version; the original redelivered afterwards is stale.
func TestReEnrichmentIsNewerVersion(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	first := agr("e1", 5, "a1", "unresolved", date(2018, 0, 0), bilatv1.Domain_DOMAIN_TRADE)
	if _, err := s.ApplyAgreement(ctx, first); err != nil {
		t.Fatal(err)
	}
	again := agr("e1-e1", 5, "a1", "GE", date(2018, 0, 0), bilatv1.Domain_DOMAIN_TRADE)
	again.Envelope.EnrichmentVersion = 1
	if out, err := s.ApplyAgreement(ctx, again); err != nil || out != projection.Applied {
		t.Fatalf("re-enriched: %v %v", out, err)
	}
	stale := agr("e1-dup", 5, "a1", "unresolved", date(2018, 0, 0), bilatv1.Domain_DOMAIN_TRADE)
	if out, err := s.ApplyAgreement(ctx, stale); err != nil || out != projection.Stale {
		t.Fatalf("original after re-enrichment: %v %v", out, err)
	}
	got, err := s.GetAgreement(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetPartner().GetCode() != "GE" || got.GetRevision() != 2 {
		t.Fatalf("partner %q revision %d", got.GetPartner().GetCode(), got.GetRevision())
	}
}
