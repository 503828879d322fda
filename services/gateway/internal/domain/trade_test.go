package domain

import (
	"fmt"
	"math"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestMaybeSubEntity(t *testing.T) {
	for _, tc := range []struct {
		parent, code string
		want         bool
	}{
		{"RU", "RU-STA", true},
		{"RU", "RU-STA.stavropol", true},
		{"RU", "RU.ncfd", true},
		{"RU-STA", "RU-STA.stavropol", true},
		{"RU", "RU", false},
		{"RU", "RUS", false},
		{"RU", "RU-", false},
		{"GE", "GE-AJ.batumi", true},
		{"bloc.cis", "bloc.cis-x", true}, // candidates only: the gazetteer decides
	} {
		if got := MaybeSubEntity(tc.parent, tc.code); got != tc.want {
			t.Errorf("MaybeSubEntity(%q, %q) = %v, want %v", tc.parent, tc.code, got, tc.want)
		}
	}
}

func TestValidateAlertsThreshold(t *testing.T) {
	for _, th := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if vs := ValidateAlerts(AlertQuery{ThresholdPct: th}); len(vs) != 1 || vs[0].Field != "threshold_pct" {
			t.Errorf("threshold %v: %v", th, vs)
		}
	}
	if vs := ValidateAlerts(AlertQuery{ThresholdPct: 0.5}); len(vs) != 0 {
		t.Errorf("threshold 0.5: %v", vs)
	}
}

func TestChangePct(t *testing.T) {
	m := func(u int64) *bilatv1.Money { return &bilatv1.Money{Currency: "USD", Units: u} }
	if c, ok := ChangePct(m(150), m(100)); !ok || c != 50 {
		t.Errorf("150 vs 100: %v %v", c, ok)
	}
	if _, ok := ChangePct(m(150), m(0)); ok {
		t.Error("a zero base has no change")
	}
	if !Fires(-20, 20) || Fires(19.99, 20) {
		t.Error("threshold is inclusive and on the absolute change")
	}
}

func TestTimelineOrder(t *testing.T) {
	ag := func(id string, y, m int32) *bilatv1.Agreement {
		return &bilatv1.Agreement{Id: id, SignedOn: &bilatv1.PartialDate{Year: y, Month: m}}
	}
	tr := func(y, m1, m2 int32) *bilatv1.TradePeriodStats {
		return &bilatv1.TradePeriodStats{Reporter: "BY", Period: &bilatv1.Period{Year: y, FirstMonth: m1, LastMonth: m2}}
	}
	tl := Timeline(
		[]*bilatv1.Agreement{ag("undated", 0, 0), ag("b-2018-12", 2018, 12), ag("a-2018", 2018, 0), ag("c-2018-07", 2018, 7)},
		[]*bilatv1.TradePeriodStats{tr(2018, 0, 0), tr(2018, 1, 6)},
	)
	var got []string
	for _, e := range tl {
		if a := e.GetAgreement(); a != nil {
			got = append(got, a.GetId())
		} else {
			p := e.GetTrade().GetPeriod()
			got = append(got, fmt.Sprintf("trade:%d/%d-%d", p.GetYear(), p.GetFirstMonth(), p.GetLastMonth()))
		}
	}
	want := "[a-2018 trade:2018/1-6 c-2018-07 b-2018-12 trade:2018/0-0 undated]"
	if s := fmt.Sprint(got); s != want {
		t.Fatalf("timeline = %s, want %s", s, want)
	}
}

// A partner's column keeps one reporter: the country's own figures, even
// when a region reported a year the country did not (the book's Georgia:
// Homiel region in 2016 and 2017, Belarus in 2017).
func TestComparisonKeepsOneReporterPerColumn(t *testing.T) {
	usd := func(u int64) *bilatv1.Money { return &bilatv1.Money{Currency: "USD", Units: u} }
	year := func(reporter string, y int32, scope bilatv1.TradeScope, v int64) *bilatv1.TradePeriodStats {
		return &bilatv1.TradePeriodStats{Reporter: reporter, Period: &bilatv1.Period{Year: y}, Scope: scope,
			Values: []*bilatv1.TradeValue{{Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, Usd: usd(v)}}}
	}
	goods, all := bilatv1.TradeScope_TRADE_SCOPE_GOODS, bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES
	ge := PartnerSeries{Partner: "GE", Periods: []*bilatv1.TradePeriodStats{
		year("BY-HM", 2016, goods, 16), year("BY-HM", 2017, goods, 18), year("BY", 2017, all, 112),
	}}
	only := PartnerSeries{Partner: "XX", Periods: []*bilatv1.TradePeriodStats{year("BY-HM", 2016, goods, 5), year("BY-HM", 2017, goods, 10)}}
	years, reporters := BuildComparison(bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, []PartnerSeries{ge, only})
	if fmt.Sprint(reporters) != "[BY BY-HM]" {
		t.Fatalf("reporters = %v", reporters)
	}
	if len(years) != 2 || years[0].GetCells()[0].GetUsd() != nil || MoneyAmount(years[1].GetCells()[0].GetUsd()) != 112 {
		t.Fatalf("GE column mixes reporters: %v", years)
	}
	// XX's 2017 change comes from its own reporter's previous year.
	if c := years[1].GetCells()[1]; c.YoyPct == nil || *c.YoyPct != 100 {
		t.Fatalf("XX 2017 = %v", c)
	}
}
