package domain

import (
	"cmp"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Growth is the growth of one flow of one group from its base period.
type Growth struct {
	Reporter  string
	Flow      bilatv1.TradeFlow
	Scope     bilatv1.TradeScope
	Period    Period
	Base      Period
	Value     *Value
	BaseValue *Value
	// Computed growth in percent, valid when HasGrowth.
	GrowthPct float64
	HasGrowth bool
	Stated    *float64
	Disagrees bool
	// Implied is the base value the stated growth implies.
	Implied *Value
}

// Growths computes year-on-year growth for every value whose base period
// (the stated base, else the same months a year earlier) has a value, and
// checks it against the stated growth. A base derived from the stated
// growth itself proves nothing: its growth is the stated one, never flagged.
func Growths(obs []Observation, groups []*Group) []Growth {
	idx := map[GroupKey]*Group{}
	for _, g := range groups {
		idx[g.Key] = g
	}
	stated := map[GroupKey]map[bilatv1.TradeFlow][]Observation{}
	for _, o := range obs {
		if o.Target || o.Stated == nil {
			continue
		}
		k := GroupKey{o.Reporter, o.Period, o.Scope}
		if stated[k] == nil {
			stated[k] = map[bilatv1.TradeFlow][]Observation{}
		}
		stated[k][o.Flow] = append(stated[k][o.Flow], o)
	}
	var out []Growth
	for _, g := range groups {
		for _, f := range flows {
			v := g.Values[f]
			if v == nil {
				continue
			}
			gr := Growth{Reporter: g.Key.Reporter, Flow: f, Scope: g.Key.Scope, Period: g.Key.Period,
				Base: g.Key.Period.Previous(), Value: v}
			var so *Observation
			if os := stated[g.Key][f]; len(os) > 0 && !v.Derived {
				so = statedFor(os, v)
				gr.Base = so.baseKey()
				s := *so.Stated
				gr.Stated = &s
				gr.Implied = BaseFromGrowth(v, s)
			}
			if bg := idx[GroupKey{g.Key.Reporter, gr.Base, g.Key.Scope}]; bg != nil {
				gr.BaseValue = bg.Values[f]
			}
			if gr.BaseValue == nil && gr.Stated == nil {
				continue
			}
			if gr.BaseValue != nil {
				gr.GrowthPct, gr.HasGrowth = GrowthPct(v, gr.BaseValue)
			}
			if gr.HasGrowth && gr.Stated != nil && !fromSameStatement(gr.BaseValue, v) {
				gr.Disagrees = Disagrees(*gr.Stated, gr.GrowthPct)
			}
			out = append(out, gr)
		}
	}
	return out
}

// fromSameStatement reports whether base was derived from v's stated growth.
func fromSameStatement(base, v *Value) bool {
	return base.Derived && strings.HasPrefix(base.Formula, "previous = ") && slices.Equal(base.FigureIDs, v.FigureIDs)
}

// CAGR is the compound annual growth of one flow between two years.
type CAGR struct {
	Reporter string
	Flow     bilatv1.TradeFlow
	Scope    bilatv1.TradeScope
	From, To int32
	FromV    *Value
	ToV      *Value
	Pct      float64
}

// CAGRs computes the CAGR of every annual series between from and to (0:
// the first and last years with a value); sub-annual periods never take part.
func CAGRs(groups []*Group, from, to int32) []CAGR {
	type series struct {
		r string
		f bilatv1.TradeFlow
		s bilatv1.TradeScope
	}
	years := map[series]map[int32]*Value{}
	var order []series
	for _, g := range groups {
		if !g.Key.Period.Annual() {
			continue
		}
		for _, f := range flows {
			if v := g.Values[f]; v != nil {
				k := series{g.Key.Reporter, f, g.Key.Scope}
				if years[k] == nil {
					years[k] = map[int32]*Value{}
					order = append(order, k)
				}
				years[k][g.Key.Period.Year] = v
			}
		}
	}
	slices.SortFunc(order, func(a, b series) int {
		return cmp.Or(strings.Compare(a.r, b.r), cmp.Compare(a.f, b.f), cmp.Compare(a.s, b.s))
	})
	var out []CAGR
	for _, k := range order {
		ys := years[k]
		lo, hi := from, to
		if lo == 0 || hi == 0 {
			var all []int32
			for y := range ys {
				if (from == 0 || y >= from) && (to == 0 || y <= to) {
					all = append(all, y)
				}
			}
			if len(all) < 2 {
				continue
			}
			if lo == 0 {
				lo = slices.Min(all)
			}
			if hi == 0 {
				hi = slices.Max(all)
			}
		}
		a, b := ys[lo], ys[hi]
		if a == nil || b == nil || hi <= lo {
			continue
		}
		if pct, ok := CAGRPct(a, b, hi-lo); ok {
			out = append(out, CAGR{Reporter: k.r, Flow: k.f, Scope: k.s, From: lo, To: hi, FromV: a, ToV: b, Pct: pct})
		}
	}
	return out
}

// Target is the progress toward one stated target.
type Target struct {
	Reporter    string
	Flow        bilatv1.TradeFlow
	Scope       bilatv1.TradeScope
	Year        int32
	Target      *Value
	Actual      *Value
	ActualYear  int32
	ActualScope bilatv1.TradeScope
	ProgressPct float64
	Required    float64
	HasRequired bool
	Note        string
}

// Targets compares every annual target with the latest annual actual value
// of the same reporter and flow at or before the target year, in a matching
// scope (the most specific one when several have that year).
func Targets(obs []Observation, groups []*Group) []Target {
	var out []Target
	for _, o := range obs {
		if !o.Target {
			continue
		}
		t := Target{Reporter: o.Reporter, Flow: o.Flow, Scope: o.Scope, Year: o.Period.Year}
		tv := o.Value
		tv.Observations = 1
		t.Target = &tv
		if !o.Period.Annual() {
			t.Note = "sub-annual target: not compared with annual values"
			out = append(out, t)
			continue
		}
		for _, g := range groups {
			v := g.Values[o.Flow]
			if v == nil || g.Key.Reporter != o.Reporter || !g.Key.Period.Annual() || g.Key.Period.Year > o.Period.Year ||
				!ScopeMatches(o.Scope, g.Key.Scope) {
				continue
			}
			better := t.Actual == nil || g.Key.Period.Year > t.ActualYear ||
				(g.Key.Period.Year == t.ActualYear && scopeRank(g.Key.Scope) < scopeRank(t.ActualScope))
			if better {
				t.Actual, t.ActualYear, t.ActualScope = v, g.Key.Period.Year, g.Key.Scope
			}
		}
		if t.Actual == nil {
			t.Note = "no actual value at or before the target year"
		} else if p, req, hasReq, ok := Progress(t.Actual, t.Target, o.Period.Year-t.ActualYear); ok {
			t.ProgressPct, t.Required, t.HasRequired = p, req, hasReq
		} else {
			t.Note = "actual and target are in different currencies without a USD value"
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Target) int {
		return cmp.Or(strings.Compare(a.Reporter, b.Reporter), cmp.Compare(a.Year, b.Year), cmp.Compare(a.Flow, b.Flow))
	})
	return out
}

func scopeRank(s bilatv1.TradeScope) int {
	if i := slices.Index(totalScopes, s); i >= 0 {
		return i
	}
	return len(totalScopes)
}

// Ranked is one partner's value in a ranking.
type Ranked struct {
	Partner   string
	Scope     bilatv1.TradeScope
	Value     *Value
	GrowthPct float64
	HasGrowth bool
}

// Rank orders partners by a flow's USD value for a year (reporter's total
// scope, see TotalValue), or by year-on-year turnover growth (growth true;
// the computed growth, else the stated one), highest first, ties by code.
// Partners whose value has no USD amount are returned apart.
func Rank(byPartner map[string][]Observation, reporter string, year int32, flow bilatv1.TradeFlow, growth bool) (ranked []Ranked, withoutUSD []string) {
	p := Period{Year: year}
	for partner, obs := range byPartner {
		groups := Groups(obs)
		v, sc, ok := TotalValue(groups, reporter, p, flow)
		if !ok {
			continue
		}
		r := Ranked{Partner: partner, Scope: sc, Value: v}
		if growth {
			for _, g := range Growths(obs, groups) {
				if g.Reporter == reporter && g.Period == p && g.Flow == flow && g.Scope == sc {
					switch {
					case g.HasGrowth:
						r.GrowthPct, r.HasGrowth = g.GrowthPct, true
					case g.Stated != nil:
						r.GrowthPct, r.HasGrowth = *g.Stated, true
					}
				}
			}
			if !r.HasGrowth {
				continue
			}
		} else if !v.HasUSD {
			withoutUSD = append(withoutUSD, partner)
			continue
		}
		ranked = append(ranked, r)
	}
	slices.SortFunc(ranked, func(a, b Ranked) int {
		x, y := a.Value.USD, b.Value.USD
		if growth {
			x, y = a.GrowthPct, b.GrowthPct
		}
		return cmp.Or(cmp.Compare(y, x), strings.Compare(a.Partner, b.Partner))
	})
	slices.Sort(withoutUSD)
	return ranked, withoutUSD
}

// Sum adds the values of one flow of several members (a roll-up): in USD
// when all have it, else nil. The sum is derived, approximate when a part is.
func Sum(flow bilatv1.TradeFlow, parts []*Value, label string) *Value {
	if len(parts) == 0 {
		return nil
	}
	v := &Value{Flow: flow, Derived: true, Formula: label, HasUSD: true, Currency: "USD"}
	for _, p := range parts {
		if !p.HasUSD {
			return nil
		}
		v.USD += p.USD
		v.Approximate = v.Approximate || p.Approximate
		v.FigureIDs = append(v.FigureIDs, p.FigureIDs...)
	}
	v.Original = v.USD
	v.FigureIDs = unionIDs(v.FigureIDs)
	return v
}
