package app_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/statistics/internal/app"
	"bilat.dev/services/statistics/internal/domain"
)

func figureEvent(seq uint64, id, partner, reporter string, year int32, flow bilatv1.TradeFlow, usdM int64) *bilatv1.TradeFigureRecorded {
	return &bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: fmt.Sprintf("ev-%d", seq), Sequence: seq},
		Figure: &bilatv1.TradeFigure{Id: id, Partner: &bilatv1.EntityRef{Code: partner}, Reporter: &bilatv1.EntityRef{Code: reporter},
			Period: &bilatv1.Period{Year: year}, Flow: flow, Value: &bilatv1.Money{Currency: "USD", Units: usdM * 1_000_000}},
	}
}

// TestRollupsNeverCountTwice checks the bloc view (members as of each
// period: Armenia joins the EAEU in 2015) and the regions view (a city is
// not added to its region's figure), on projections in a real Redis.
func TestRollupsNeverCountTwice(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	d := func(y, m, day int32) *bilatv1.PartialDate { return &bilatv1.PartialDate{Year: y, Month: m, Day: day} }
	svc.SetGazetteer(domain.NewGazetteer([]*bilatv1.Entity{
		{Code: "bloc.eaeu", Kind: bilatv1.EntityKind_ENTITY_KIND_BLOC},
		{Code: "BY", Memberships: []*bilatv1.Membership{{Bloc: "bloc.eaeu", Joined: d(2015, 1, 1)}}},
		{Code: "RU", Memberships: []*bilatv1.Membership{{Bloc: "bloc.eaeu", Joined: d(2015, 1, 1)}}},
		{Code: "AM", Memberships: []*bilatv1.Membership{{Bloc: "bloc.eaeu", Joined: d(2015, 1, 2)}}},
		{Code: "RU-STA", Parent: "RU"}, {Code: "RU-STA.stavropol", Parent: "RU-STA"}, {Code: "RU-KDA", Parent: "RU"},
	}))
	T := bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
	for i, e := range []*bilatv1.TradeFigureRecorded{
		figureEvent(1, "ru-2014", "RU", "BY", 2014, T, 1000),
		figureEvent(2, "ru-2015", "RU", "BY", 2015, T, 900),
		figureEvent(3, "am-2014", "AM", "BY", 2014, T, 50),
		figureEvent(4, "am-2015", "AM", "BY", 2015, T, 60),
		figureEvent(5, "sta-2016", "RU-STA", "BY", 2016, T, 140),
		figureEvent(6, "sta-city-2016", "RU-STA.stavropol", "BY", 2016, T, 40),
		figureEvent(7, "kda-2016", "RU-KDA", "BY", 2016, T, 10),
		figureEvent(8, "city-2017", "RU-STA.stavropol", "BY", 2017, T, 45),
	} {
		if _, err := st.ApplyTradeFigure(ctx, e); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	bloc, err := svc.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{Partner: "bloc.eaeu", Rollup: bilatv1.Rollup_ROLLUP_BLOC_MEMBERS})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32]int64{}
	for _, p := range bloc.GetPeriods() {
		got[p.GetPeriod().GetYear()] = p.GetValues()[0].GetUsd().GetUnits() / 1_000_000
		if p.GetRollup() == "" || !p.GetValues()[0].GetDerived() {
			t.Fatalf("roll-up not labelled: %v", p)
		}
	}
	// 2014: nobody was a member yet; 2015: Russia and Armenia (Belarus, the reporter, is left out).
	if len(got) != 1 || got[2015] != 960 {
		t.Fatalf("EAEU by year = %v, want only 2015 = 960", got)
	}
	regions, err := svc.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{Partner: "RU", Rollup: bilatv1.Rollup_ROLLUP_REGIONS})
	if err != nil {
		t.Fatal(err)
	}
	got = map[int32]int64{}
	for _, p := range regions.GetPeriods() {
		got[p.GetPeriod().GetYear()] = p.GetValues()[0].GetUsd().GetUnits() / 1_000_000
	}
	// 2016: Stavropol Krai (which includes its city) + Krasnodar; 2017: the city alone. RU's own figures stay out.
	if len(got) != 2 || got[2016] != 150 || got[2017] != 45 {
		t.Fatalf("regions of RU by year = %v", got)
	}
	own, err := svc.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{Partner: "RU"})
	if err != nil || len(own.GetPeriods()) != 2 || own.GetPeriods()[0].GetRollup() != "" {
		t.Fatalf("RU's own figures = %v, %v", own, err)
	}
	_, err = svc.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{Partner: "RU", Rollup: bilatv1.Rollup_ROLLUP_BLOC_MEMBERS})
	var ve *app.ValidationError
	if !errors.As(err, &ve) || ve.Violations[0].Field != "rollup" {
		t.Fatalf("bloc roll-up of a country: %v", err)
	}
	if _, err := svc.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{Partner: "XX"}); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
	// Retracting Russia's 2015 figure leaves Armenia alone in the bloc view.
	if _, err := st.ApplyTradeRetraction(ctx, &bilatv1.TradeFigureRetracted{Envelope: &bilatv1.Envelope{EventId: "r", Sequence: 9}, FigureId: "ru-2015"}); err != nil {
		t.Fatal(err)
	}
	bloc, err = svc.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{Partner: "bloc.eaeu", Rollup: bilatv1.Rollup_ROLLUP_BLOC_MEMBERS})
	if err != nil || len(bloc.GetPeriods()) != 1 || bloc.GetPeriods()[0].GetValues()[0].GetUsd().GetUnits() != 60_000_000 {
		t.Fatalf("EAEU after retraction = %v, %v", bloc, err)
	}
}

func TestAgreementStatsAndRanking(t *testing.T) {
	svc, st := newService(t)
	ctx := context.Background()
	for i, p := range []string{"GE", "GE", "CN"} {
		e := &bilatv1.AgreementRecorded{
			Envelope: &bilatv1.Envelope{EventId: fmt.Sprintf("a%d", i), Sequence: uint64(i + 1)},
			Agreement: &bilatv1.Agreement{Id: fmt.Sprintf("a%d", i), Partner: &bilatv1.EntityRef{Code: p},
				SignedOn: &bilatv1.PartialDate{Year: 2018, Month: 3}, Status: bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED},
		}
		if _, err := st.ApplyAgreement(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := svc.AgreementStats(ctx, &bilatv1.GetAgreementStatsRequest{FromYear: 2018, ToYear: 2018})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTotalAgreements() != 3 || len(resp.GetTopPartners()) != 2 || resp.GetTopPartners()[0].GetPartner() != "GE" {
		t.Fatalf("stats = %v", resp)
	}
	signed := int64(0)
	for _, c := range resp.GetCounts() {
		if c.GetDimension() == "status" && c.GetValue() == "signed" {
			signed += c.GetCount()
		}
	}
	if signed != 3 {
		t.Fatalf("signed = %d", signed)
	}
	if _, err := svc.AgreementStats(ctx, &bilatv1.GetAgreementStatsRequest{Partner: "XX"}); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("unknown partner: %v", err)
	}
	if _, err := svc.AgreementStats(ctx, &bilatv1.GetAgreementStatsRequest{Top: 101}); err == nil {
		t.Fatal("top 101 accepted")
	}
}
