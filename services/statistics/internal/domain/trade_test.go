package domain

import (
	"math"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

const (
	T = bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
	E = bilatv1.TradeFlow_TRADE_FLOW_EXPORTS
	I = bilatv1.TradeFlow_TRADE_FLOW_IMPORTS
	B = bilatv1.TradeFlow_TRADE_FLOW_BALANCE
)

func usd(m float64) *bilatv1.Money {
	units := int64(m)
	return &bilatv1.Money{Currency: "USD", Units: units, Nanos: int32(math.Round((m - float64(units)) * 1e9))}
}

// figure builds a book-like figure; millions of USD unless cur says otherwise.
type figure struct {
	id       string
	year     int32
	first    int32
	last     int32
	flow     bilatv1.TradeFlow
	scope    bilatv1.TradeScope
	m        float64
	cur      string
	approx   bool
	growth   *float64
	target   bool
	reporter string
	pub      int32
}

func pct(v float64) *float64 { return &v }

func (f figure) obs() Observation {
	cur := f.cur
	if cur == "" {
		cur = "USD"
	}
	units := int64(f.m * 1e6)
	tf := &bilatv1.TradeFigure{Id: f.id, Period: &bilatv1.Period{Year: f.year, FirstMonth: f.first, LastMonth: f.last},
		Flow: f.flow, Scope: f.scope, Value: &bilatv1.Money{Currency: cur, Units: units}, Approximate: f.approx,
		StatedGrowthPct: f.growth, IsTarget: f.target,
		Sources: []*bilatv1.Source{{Published: &bilatv1.PartialDate{Year: f.pub}}}}
	r := f.reporter
	if r == "" {
		r = "BY"
	}
	return ObservationOf(r, tf)
}

func observations(fs ...figure) []Observation {
	out := make([]Observation, len(fs))
	for i, f := range fs {
		out[i] = f.obs()
	}
	return out
}

// afghanistan is the book's Afghanistan chapter (see docs/statistics.md).
var afghanistan = []figure{
	{id: "af-t-2017-h1", year: 2017, first: 1, last: 6, flow: T, m: 12.5, growth: pct(34.3)},
	{id: "af-t-2017", year: 2017, flow: T, m: 30, approx: true, growth: pct(12)},
	{id: "af-e-2017", year: 2017, flow: E, m: 28.7},
	{id: "af-t-2018", year: 2018, flow: T, m: 38.7, growth: pct(31)},
	{id: "af-b-2018", year: 2018, flow: B, m: 38.1},
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func group(t *testing.T, gs []*Group, reporter string, p Period, scope bilatv1.TradeScope) *Group {
	t.Helper()
	for _, g := range gs {
		if g.Key == (GroupKey{reporter, p, scope}) {
			return g
		}
	}
	t.Fatalf("no group %s %v %v", reporter, p, scope)
	return nil
}

func TestDerivationsOnTheBook(t *testing.T) {
	gs := Groups(observations(afghanistan...))
	cases := []struct {
		name    string
		p       Period
		flow    bilatv1.TradeFlow
		usdM    float64
		derived bool
		approx  bool
		formula string
	}{
		{"2018 turnover reported", Period{Year: 2018}, T, 38.7, false, false, ""},
		{"2018 exports from turnover and balance", Period{Year: 2018}, E, 38.4, true, false, "exports = (turnover + balance) / 2"},
		{"2018 imports from turnover and balance", Period{Year: 2018}, I, 0.3, true, false, "imports = (turnover − balance) / 2"},
		{"2017 imports = turnover − exports, hedged", Period{Year: 2017}, I, 1.3, true, true, "imports = turnover − exports"},
		{"2017 balance from the two reported", Period{Year: 2017}, B, 27.4, true, true, "balance = 2 × exports − turnover"},
		{"2016 turnover from the stated 12 %", Period{Year: 2016}, T, 30 / 1.12, true, true, "previous = value / (1 + 12/100)"},
		{"H1 2016 from the stated 34.3 %, kept sub-annual", Period{Year: 2016, First: 1, Last: 6}, T, 12.5 / 1.343, true, false, "previous = value / (1 + 34.3/100)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := group(t, gs, "BY", c.p, 0).Values[c.flow]
			if v == nil || !near(v.USD, c.usdM*1e6) || v.Derived != c.derived || v.Approximate != c.approx || v.Formula != c.formula {
				t.Fatalf("got %+v, want %.4f M derived=%v approx=%v %q", v, c.usdM, c.derived, c.approx, c.formula)
			}
		})
	}
	// The reported 2017 turnover (30, "almost") wins over the 29.54 derived
	// from 2018's stated 31 %.
	if v := group(t, gs, "BY", Period{Year: 2017}, 0).Values[T]; v.Derived || !near(v.USD, 30e6) {
		t.Fatalf("2017 turnover = %+v", v)
	}
}

func TestDeriveEveryFormula(t *testing.T) {
	v := func(f bilatv1.TradeFlow, x float64) *Value {
		return &Value{Flow: f, USD: x, HasUSD: true, Original: x, Currency: "USD", FigureIDs: []string{f.String()}}
	}
	// exports 70, imports 30: turnover 100, balance 40; any two give the others.
	want := map[bilatv1.TradeFlow]float64{T: 100, E: 70, I: 30, B: 40}
	pairs := [][2]bilatv1.TradeFlow{{E, I}, {E, B}, {I, B}, {T, I}, {T, B}, {T, E}}
	for _, p := range pairs {
		m := map[bilatv1.TradeFlow]*Value{p[0]: v(p[0], want[p[0]]), p[1]: v(p[1], want[p[1]])}
		Derive(m)
		for f, x := range want {
			if m[f] == nil || !near(m[f].USD, x) {
				t.Fatalf("from %v: %v = %+v, want %v", p, f, m[f], x)
			}
			if (f == p[0] || f == p[1]) == m[f].Derived {
				t.Fatalf("from %v: %v derived = %v", p, f, m[f].Derived)
			}
		}
	}
	// Different currencies without USD are never combined.
	m := map[bilatv1.TradeFlow]*Value{
		E: {Flow: E, Original: 5, Currency: "RUB"},
		I: {Flow: I, USD: 1, HasUSD: true, Original: 1, Currency: "USD"},
	}
	Derive(m)
	if m[T] != nil || m[B] != nil {
		t.Fatalf("mixed currencies derived %+v %+v", m[T], m[B])
	}
	// The same non-USD currency derives in that currency, without a USD value.
	m = map[bilatv1.TradeFlow]*Value{E: {Flow: E, Original: 5, Currency: "RUB"}, I: {Flow: I, Original: 2, Currency: "RUB"}}
	Derive(m)
	if m[T] == nil || m[T].HasUSD || m[T].Original != 7 || m[T].Currency != "RUB" {
		t.Fatalf("RUB turnover = %+v", m[T])
	}
}

func TestBestValueRules(t *testing.T) {
	cases := []struct {
		name string
		obs  []figure
		want string
	}{
		{"exact beats approximate", []figure{{id: "a", approx: true, pub: 2020}, {id: "b", pub: 2019}}, "b"},
		{"later source beats earlier", []figure{{id: "a", pub: 2019}, {id: "b", pub: 2021}}, "b"},
		{"USD beats no USD", []figure{{id: "a", cur: "RUB", pub: 2021}, {id: "b", pub: 2019}}, "b"},
		{"ties by id", []figure{{id: "b", pub: 2019}, {id: "a", pub: 2019}}, "a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := range c.obs {
				c.obs[i].year, c.obs[i].flow, c.obs[i].m = 2018, T, float64(i+1)
			}
			if b := Best(observations(c.obs...)); b.FigureIDs[0] != c.want || b.Observations != len(c.obs) {
				t.Fatalf("best = %v (%d), want %s", b.FigureIDs, b.Observations, c.want)
			}
		})
	}
	// A more specific scope beats unspecified when a total is asked for.
	gs := Groups(observations(
		figure{id: "u", year: 2017, flow: T, m: 100},
		figure{id: "gs", year: 2017, flow: T, scope: bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES, m: 112},
		figure{id: "svc", year: 2017, flow: T, scope: bilatv1.TradeScope_TRADE_SCOPE_SERVICES, m: 5},
	))
	if v, sc, ok := TotalValue(gs, "BY", Period{Year: 2017}, T); !ok || v.FigureIDs[0] != "gs" || sc != bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES {
		t.Fatalf("total = %+v %v", v, sc)
	}
}

func TestGrowthAndTolerance(t *testing.T) {
	gs := Groups(observations(afghanistan...))
	var g2018 *Growth
	for _, g := range Growths(observations(afghanistan...), gs) {
		if g.Period == (Period{Year: 2018}) && g.Flow == T {
			g2018 = &g
		}
		if !g.Period.Comparable(g.Base) {
			t.Fatalf("growth mixes %v with %v", g.Period, g.Base)
		}
	}
	// 38.7 / 30 − 1 = 29 %, the book states 31 %: two points apart, flagged.
	if g2018 == nil || !near(g2018.GrowthPct, 29) || !g2018.Disagrees || *g2018.Stated != 31 || !near(g2018.Implied.USD, 38.7e6/1.31) {
		t.Fatalf("2018 growth = %+v", g2018)
	}
	cases := []struct {
		stated, computed float64
		flag             bool
	}{{31, 29, true}, {10, 11, false}, {10, 11.0000001, false}, {10, 11.01, true}, {-5, -3.9, true}, {0, 0.99, false}}
	for _, c := range cases {
		if Disagrees(c.stated, c.computed) != c.flag {
			t.Errorf("Disagrees(%v, %v) = %v", c.stated, c.computed, !c.flag)
		}
	}
	// A base derived from the stated growth is never flagged against it.
	for _, g := range Growths(observations(afghanistan...), gs) {
		if g.Period == (Period{Year: 2017}) && g.Flow == T && (g.Disagrees || !near(g.GrowthPct, 12)) {
			t.Fatalf("2017 growth vs derived 2016 = %+v", g)
		}
	}
}

func TestCAGRProgressRounding(t *testing.T) {
	a := &Value{USD: 100, HasUSD: true, Currency: "USD"}
	b := &Value{USD: 121, HasUSD: true, Currency: "USD"}
	if p, ok := CAGRPct(a, b, 2); !ok || !near(p, 10) {
		t.Fatalf("CAGR 100 -> 121 over 2 years = %v", p)
	}
	if _, ok := CAGRPct(&Value{USD: 0, HasUSD: true}, b, 2); ok {
		t.Fatal("CAGR from zero")
	}
	rub := &Value{Original: 6.7e9, Currency: "RUB"}
	if _, ok := CAGRPct(rub, &Value{USD: 140e6, HasUSD: true, Currency: "USD"}, 3); ok {
		t.Fatal("Stavropol: roubles compared with dollars")
	}
	// Georgia: 112 M in 2017 toward 200 M by 2020.
	p, req, has, ok := Progress(&Value{USD: 112e6, HasUSD: true}, &Value{USD: 200e6, HasUSD: true}, 3)
	if !ok || !has || !near(p, 56) || Round(req, 2) != 21.32 {
		t.Fatalf("Georgia progress %v, required %v", p, req)
	}
	for _, c := range []struct {
		x    float64
		d    int
		want float64
	}{{21.2956, 2, 21.3}, {-0.005, 2, -0.01}, {0.125, 2, 0.13}, {38399999.996, 2, 38400000}} {
		if got := Round(c.x, c.d); got != c.want {
			t.Errorf("Round(%v, %d) = %v, want %v", c.x, c.d, got, c.want)
		}
	}
}

func TestTargetsOnTheBook(t *testing.T) {
	obs := observations(
		figure{id: "ge-target-2020", year: 2020, flow: T, m: 200, target: true},
		figure{id: "ge-t-2017", year: 2017, flow: T, scope: bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES, m: 112},
		figure{id: "ge-transport-2018", year: 2018, flow: T, scope: bilatv1.TradeScope_TRADE_SCOPE_TRANSPORT_SERVICES, m: 16.4},
		figure{id: "minsk-ge-2017", year: 2017, flow: T, scope: bilatv1.TradeScope_TRADE_SCOPE_GOODS, m: 18.8, reporter: "BY-HM"},
	)
	ts := Targets(obs, Groups(obs))
	if len(ts) != 1 {
		t.Fatalf("targets = %+v", ts)
	}
	g := ts[0]
	if g.ActualYear != 2017 || g.Actual.FigureIDs[0] != "ge-t-2017" || !near(g.ProgressPct, 56) || !g.HasRequired || Round(g.Required, 1) != 21.3 {
		t.Fatalf("Georgia target = %+v", g)
	}
}

func TestConflicts(t *testing.T) {
	cases := []struct {
		name string
		obs  []figure
		tol  float64
		want int
	}{
		{"within 1 %", []figure{{id: "a", m: 100}, {id: "b", m: 100.9}}, 0, 0},
		{"beyond 1 %", []figure{{id: "a", m: 100}, {id: "b", m: 102}}, 0, 1},
		{"approximate widens to 5 %", []figure{{id: "a", m: 100, approx: true}, {id: "b", m: 104}}, 0, 0},
		{"approximate beyond 5 %", []figure{{id: "a", m: 100, approx: true}, {id: "b", m: 106}}, 0, 1},
		{"custom tolerance", []figure{{id: "a", m: 100}, {id: "b", m: 102}}, 3, 0},
		{"currencies never compared", []figure{{id: "a", m: 100}, {id: "b", m: 6700, cur: "RUB"}}, 0, 0},
		{"one figure", []figure{{id: "a", m: 100}}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := range c.obs {
				c.obs[i].year, c.obs[i].flow = 2018, T
			}
			if got := Conflicts(observations(c.obs...), c.tol); len(got) != c.want {
				t.Fatalf("conflicts = %+v", got)
			}
		})
	}
}

func TestBlocMembershipByPeriod(t *testing.T) {
	d := func(y, m, day int32) *bilatv1.PartialDate { return &bilatv1.PartialDate{Year: y, Month: m, Day: day} }
	g := NewGazetteer([]*bilatv1.Entity{
		{Code: "bloc.eaeu", Kind: bilatv1.EntityKind_ENTITY_KIND_BLOC},
		{Code: "RU", Memberships: []*bilatv1.Membership{{Bloc: "bloc.eaeu", Joined: d(2015, 1, 1)}}},
		{Code: "AM", Memberships: []*bilatv1.Membership{{Bloc: "bloc.eaeu", Joined: d(2015, 1, 2)}}},
		{Code: "GE", Memberships: []*bilatv1.Membership{{Bloc: "bloc.cis", Joined: d(1993, 0, 0), Left: d(2009, 8, 18)}}},
		{Code: "RU-STA", Parent: "RU"}, {Code: "RU-STA.city", Parent: "RU-STA"},
	})
	if m := g.Members("bloc.eaeu", Period{Year: 2014}); len(m) != 0 {
		t.Fatalf("EAEU 2014 = %v", m)
	}
	if m := g.Members("bloc.eaeu", Period{Year: 2015}); len(m) != 2 {
		t.Fatalf("EAEU 2015 = %v", m)
	}
	if m := g.Members("bloc.cis", Period{Year: 2008}); len(m) != 1 || len(g.Members("bloc.cis", Period{Year: 2009})) != 0 {
		t.Fatalf("CIS 2008 = %v; Georgia left in 2009", m)
	}
	if r := g.Regions("RU"); len(r) != 2 || !g.IsBloc("bloc.eaeu") || g.IsBloc("RU") {
		t.Fatalf("regions of RU = %v", r)
	}
	sum := Sum(T, []*Value{{USD: 1, HasUSD: true, FigureIDs: []string{"a"}}, {USD: 2, HasUSD: true, Approximate: true, FigureIDs: []string{"b"}}}, "sum")
	if sum.USD != 3 || !sum.Approximate || !sum.Derived || len(sum.FigureIDs) != 2 {
		t.Fatalf("sum = %+v", sum)
	}
	if Sum(T, []*Value{{USD: 1, HasUSD: true}, {Original: 2, Currency: "RUB"}}, "sum") != nil {
		t.Fatal("summed a value without USD")
	}
}

func TestRank(t *testing.T) {
	by := map[string][]Observation{
		"AF":     observations(afghanistan...),
		"GE":     observations(figure{id: "ge", year: 2018, flow: T, scope: bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES, m: 120, growth: pct(7)}),
		"RU-STA": observations(figure{id: "sta", year: 2018, flow: T, m: 6700, cur: "RUB"}),
	}
	r, without := Rank(by, "BY", 2018, T, false)
	if len(r) != 2 || r[0].Partner != "GE" || r[1].Partner != "AF" || len(without) != 1 || without[0] != "RU-STA" {
		t.Fatalf("rank = %+v, without %v", r, without)
	}
	r, _ = Rank(by, "BY", 2018, T, true)
	if len(r) != 2 || r[0].Partner != "AF" || !near(r[0].GrowthPct, 29) || !near(r[1].GrowthPct, 7) {
		t.Fatalf("growth rank = %+v", r)
	}
}
