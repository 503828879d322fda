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
