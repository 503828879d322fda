package domain

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Period is a calendar year (First = Last = 0) or a month range inside one.
type Period struct{ Year, First, Last int32 }

// PeriodOf converts a proto period.
func PeriodOf(p *bilatv1.Period) Period {
	return Period{Year: p.GetYear(), First: p.GetFirstMonth(), Last: p.GetLastMonth()}
}

// Annual reports whether the period is a whole year.
func (p Period) Annual() bool { return p.First == 0 && p.Last == 0 }

// Previous is the same months one year earlier (the year-on-year base).
func (p Period) Previous() Period { return Period{Year: p.Year - 1, First: p.First, Last: p.Last} }

// Comparable reports whether two periods cover the same months, so their
// values may be compared: a January–July figure never meets an annual one.
func (p Period) Comparable(q Period) bool { return p.First == q.First && p.Last == q.Last }

// Proto converts back to the proto period.
func (p Period) Proto() *bilatv1.Period {
	return &bilatv1.Period{Year: p.Year, FirstMonth: p.First, LastMonth: p.Last}
}

func (p Period) String() string {
	if p.Annual() {
		return fmt.Sprintf("%04d", p.Year)
	}
	return fmt.Sprintf("%04d-%02d..%02d", p.Year, p.First, p.Last)
}

func (p Period) compare(q Period) int {
	return cmp.Or(cmp.Compare(p.Year, q.Year), cmp.Compare(p.First, q.First), cmp.Compare(p.Last, q.Last))
}

// Value is an amount of one flow: a reported observation or a derived value.
type Value struct {
	Flow bilatv1.TradeFlow
	// USD is the amount in US dollars, valid when HasUSD.
	USD    float64
	HasUSD bool
	// Original is the amount in Currency as the source states it (derived
	// values: the currency they were computed in).
	Original float64
	Currency string
	// Derived values carry their formula; FigureIDs are the figures a value
	// came from (the figure itself when reported).
	Derived     bool
	Formula     string
	FigureIDs   []string
	Approximate bool
	// Observations is the number of figures recorded for the key.
	Observations int
}

// Observation is one recorded figure with its provenance.
type Observation struct {
	Value
	Reporter   string
	Period     Period
	Scope      bilatv1.TradeScope
	Target     bool
	Stated     *float64 // stated growth, percent
	GrowthBase Period
	HasBase    bool
	NewestSrc  int64 // latest publication date of its sources (year*10000+month*100+day)
	Revision   int32
}

// MoneyAmount is a Money as a float.
func MoneyAmount(m *bilatv1.Money) float64 {
	return float64(m.GetUnits()) + float64(m.GetNanos())/1e9
}

// ObservationOf reads a figure. The USD amount is enrichment's conversion
// when present; otherwise the original value when it is in USD; otherwise
// there is none (a non-USD value is never mixed with USD ones).
func ObservationOf(reporter string, f *bilatv1.TradeFigure) Observation {
	o := Observation{
		Value: Value{
			Flow: f.GetFlow(), Original: MoneyAmount(f.GetValue()), Currency: f.GetValue().GetCurrency(),
			FigureIDs: []string{f.GetId()}, Approximate: f.GetApproximate(),
		},
		Reporter: reporter, Period: PeriodOf(f.GetPeriod()), Scope: f.GetScope(), Target: f.GetIsTarget(),
		Revision: f.GetRevision(),
	}
	if fx := f.GetValueUsd(); fx != nil && !fx.GetGap() && fx.GetUsd() != nil {
		o.USD, o.HasUSD = MoneyAmount(fx.GetUsd()), true
	} else if o.Currency == "USD" {
		o.USD, o.HasUSD = o.Original, true
	}
	if f.StatedGrowthPct != nil {
		g := f.GetStatedGrowthPct()
		o.Stated = &g
		if f.GetGrowthBase().GetYear() > 0 {
			o.GrowthBase, o.HasBase = PeriodOf(f.GetGrowthBase()), true
		}
	}
	for _, s := range f.GetSources() {
		d := s.GetPublished()
		o.NewestSrc = max(o.NewestSrc, int64(d.GetYear())*10000+int64(d.GetMonth())*100+int64(d.GetDay()))
	}
	return o
}

// betterObservation orders the observations of one key, best first:
// exact beats approximate, a value with USD beats one without, a later
// source beats an earlier one, then a higher revision, then the figure id
// (so the choice never depends on storage order).
func betterObservation(a, b Observation) int {
	return cmp.Or(
		boolFirst(!a.Approximate, !b.Approximate),
		boolFirst(a.HasUSD, b.HasUSD),
		cmp.Compare(b.NewestSrc, a.NewestSrc),
		cmp.Compare(b.Revision, a.Revision),
		strings.Compare(a.FigureIDs[0], b.FigureIDs[0]),
	)
}

func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// Best picks the best of a key's reported observations (nil when none).
// Derived values never compete here: a reported figure always wins.
func Best(obs []Observation) *Value {
	if len(obs) == 0 {
		return nil
	}
	s := slices.Clone(obs)
	slices.SortFunc(s, betterObservation)
	v := s[0].Value
	v.FigureIDs = slices.Clone(v.FigureIDs)
	v.Observations = len(obs)
	return &v
}

// GroupKey is reporter, period and scope: the flows of one group derive each other.
type GroupKey struct {
	Reporter string
	Period   Period
	Scope    bilatv1.TradeScope
}

// Group is the best value of each flow of one GroupKey.
type Group struct {
	Key    GroupKey
	Values map[bilatv1.TradeFlow]*Value
}

// The four flows, in output order.
var flows = []bilatv1.TradeFlow{bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, bilatv1.TradeFlow_TRADE_FLOW_EXPORTS,
	bilatv1.TradeFlow_TRADE_FLOW_IMPORTS, bilatv1.TradeFlow_TRADE_FLOW_BALANCE}

const (
	turnover = bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
	exports  = bilatv1.TradeFlow_TRADE_FLOW_EXPORTS
	imports  = bilatv1.TradeFlow_TRADE_FLOW_IMPORTS
	balance  = bilatv1.TradeFlow_TRADE_FLOW_BALANCE
)

// formula derives one flow from two others: out = a*x + b*y.
type formula struct {
	out, x, y bilatv1.TradeFlow
	a, b      float64
	text      string
}

// formulas, in order of preference for each missing flow (turnover =
// exports + imports, balance = exports − imports, and their rearrangements).
var formulas = []formula{
	{turnover, exports, imports, 1, 1, "turnover = exports + imports"},
	{turnover, exports, balance, 2, -1, "turnover = 2 × exports − balance"},
	{turnover, imports, balance, 2, 1, "turnover = 2 × imports + balance"},
	{exports, turnover, imports, 1, -1, "exports = turnover − imports"},
	{exports, turnover, balance, 0.5, 0.5, "exports = (turnover + balance) / 2"},
	{exports, imports, balance, 1, 1, "exports = imports + balance"},
	{imports, turnover, exports, 1, -1, "imports = turnover − exports"},
	{imports, turnover, balance, 0.5, -0.5, "imports = (turnover − balance) / 2"},
	{imports, exports, balance, 1, -1, "imports = exports − balance"},
	{balance, exports, imports, 1, -1, "balance = exports − imports"},
	{balance, exports, turnover, 2, -1, "balance = 2 × exports − turnover"},
	{balance, turnover, imports, 1, -2, "balance = turnover − 2 × imports"},
}

// combine computes a*x + b*y, in USD when both have it, else in their
// common original currency; false when the currencies differ.
func combine(f formula, x, y *Value) (*Value, bool) {
	v := &Value{Flow: f.out, Derived: true, Formula: f.text, Approximate: x.Approximate || y.Approximate}
	switch {
	case x.HasUSD && y.HasUSD:
		v.USD, v.HasUSD = f.a*x.USD+f.b*y.USD, true
		v.Original, v.Currency = v.USD, "USD"
	case x.Currency != "" && x.Currency == y.Currency:
		v.Original, v.Currency = f.a*x.Original+f.b*y.Original, x.Currency
	default:
		return nil, false
	}
	v.FigureIDs = unionIDs(x.FigureIDs, y.FigureIDs)
	return v, true
}

func unionIDs(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Derive fills the missing flows of a group from two present ones. It
// derives only from reported values first, then (a second pass) from
// derived ones, so a reported pair is always preferred.
func Derive(values map[bilatv1.TradeFlow]*Value) {
	for pass := 0; pass < 2; pass++ {
		for _, f := range formulas {
			if values[f.out] != nil {
				continue
			}
			x, y := values[f.x], values[f.y]
			if x == nil || y == nil || (pass == 0 && (x.Derived || y.Derived)) {
				continue
			}
			if v, ok := combine(f, x, y); ok {
				values[f.out] = v
			}
		}
	}
}

// Groups gathers observations into groups of best values, excluding
// targets, and derives missing flows. It also adds previous-period values
// derived from stated growth (base = value / (1 + growth/100)) where the
// base period has no reported value. Groups are sorted by reporter, period, scope.
func Groups(obs []Observation) []*Group {
	type key struct {
		g GroupKey
		f bilatv1.TradeFlow
	}
	byKey := map[key][]Observation{}
	for _, o := range obs {
		if o.Target {
			continue
		}
		k := key{GroupKey{o.Reporter, o.Period, o.Scope}, o.Flow}
		byKey[k] = append(byKey[k], o)
	}
	groups := map[GroupKey]*Group{}
	get := func(k GroupKey) *Group {
		g := groups[k]
		if g == nil {
			g = &Group{Key: k, Values: map[bilatv1.TradeFlow]*Value{}}
			groups[k] = g
		}
		return g
	}
	for k, os := range byKey {
		get(k.g).Values[k.f] = Best(os)
	}
	// Bases from stated growth, after the reported values are in.
	keys := make([]key, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.g.Reporter, b.g.Reporter), a.g.Period.compare(b.g.Period), cmp.Compare(a.g.Scope, b.g.Scope), cmp.Compare(a.f, b.f))
	})
	for _, k := range keys {
		v := groups[k.g].Values[k.f]
		o := statedFor(byKey[k], v)
		if o == nil {
			continue
		}
		base := o.baseKey()
		bk := GroupKey{k.g.Reporter, base, k.g.Scope}
		if g := groups[bk]; g != nil && g.Values[k.f] != nil {
			continue
		}
		if bv := BaseFromGrowth(v, *o.Stated); bv != nil {
			get(bk).Values[k.f] = bv
		}
	}
	out := make([]*Group, 0, len(groups))
	for _, g := range groups {
		Derive(g.Values)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *Group) int {
		return cmp.Or(strings.Compare(a.Key.Reporter, b.Key.Reporter), a.Key.Period.compare(b.Key.Period), cmp.Compare(a.Key.Scope, b.Key.Scope))
	})
	return out
}

// statedFor is the observation whose stated growth applies to the best
// value: the chosen figure itself, or else another figure of the key.
func statedFor(os []Observation, best *Value) *Observation {
	var other *Observation
	for i := range os {
		o := &os[i]
		if o.Stated == nil {
			continue
		}
		if o.FigureIDs[0] == best.FigureIDs[0] {
			return o
		}
		if other == nil {
			other = o
		}
	}
	return other
}

// baseKey is the period a stated growth is measured against: the stated
// base when comparable, else the same months a year earlier.
func (o *Observation) baseKey() Period {
	if o.HasBase && o.GrowthBase.Comparable(o.Period) {
		return o.GrowthBase
	}
	return o.Period.Previous()
}

// BaseFromGrowth derives the previous period's value from a value and its
// stated growth in percent: base = value / (1 + growth/100). Growth of
// −100 % or less has no base.
func BaseFromGrowth(v *Value, growthPct float64) *Value {
	if growthPct <= -100 {
		return nil
	}
	k := 1 + growthPct/100
	b := &Value{Flow: v.Flow, Derived: true, Approximate: v.Approximate, Currency: v.Currency,
		Original: v.Original / k, Formula: fmt.Sprintf("previous = value / (1 + %s/100)", trimFloat(growthPct)),
		FigureIDs: slices.Clone(v.FigureIDs)}
	if v.HasUSD {
		b.USD, b.HasUSD = v.USD/k, true
	}
	return b
}

func trimFloat(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", f), "0"), ".")
}

// GrowthPct is (value / base − 1) × 100; false when base is zero or the
// two are in different currencies without USD.
func GrowthPct(v, base *Value) (float64, bool) {
	a, b, ok := comparable(v, base)
	if !ok || b == 0 {
		return 0, false
	}
	return (a/b - 1) * 100, true
}

// comparable returns the two amounts in a common currency (USD first).
func comparable(v, w *Value) (float64, float64, bool) {
	switch {
	case v.HasUSD && w.HasUSD:
		return v.USD, w.USD, true
	case v.Currency != "" && v.Currency == w.Currency:
		return v.Original, w.Original, true
	}
	return 0, 0, false
}

// GrowthTolerancePP is how far (in percentage points) a stated growth may
// be from the computed one before it is flagged.
const GrowthTolerancePP = 1.0

// Disagrees reports whether stated and computed growth differ by more than
// GrowthTolerancePP, the difference taken at two decimals (as the API
// shows it), so exactly one point is tolerated whatever the float noise.
func Disagrees(stated, computed float64) bool {
	return Round(math.Abs(stated-computed), 2) > GrowthTolerancePP
}

// CAGRPct is the compound annual growth rate in percent between two
// values years apart: ((to/from)^(1/years) − 1) × 100.
func CAGRPct(from, to *Value, years int32) (float64, bool) {
	a, b, ok := comparable(to, from)
	if !ok || years <= 0 || b <= 0 || a <= 0 {
		return 0, false
	}
	return (math.Pow(a/b, 1/float64(years)) - 1) * 100, true
}

// Progress compares an actual value with a target: progress = actual /
// target × 100, and the yearly growth still needed over the remaining
// years = ((target/actual)^(1/years) − 1) × 100 (unset when no year remains).
func Progress(actual, target *Value, years int32) (progress float64, required float64, hasRequired, ok bool) {
	a, t, ok := comparable(actual, target)
	if !ok || t == 0 {
		return 0, 0, false, false
	}
	progress = a / t * 100
	if years > 0 && a > 0 && t > 0 {
		required = (math.Pow(t/a, 1/float64(years)) - 1) * 100
		hasRequired = true
	}
	return progress, required, hasRequired, true
}

// Round rounds to the given number of decimals (half away from zero); the
// API rounds percentages to 2 decimals and amounts to cents, after every
// comparison is made on the unrounded numbers.
func Round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}

// ConflictTolerancePct is the default allowed spread between a key's
// sources; ApproxTolerancePct applies when one of them is approximate.
const (
	ConflictTolerancePct = 1.0
	ApproxTolerancePct   = 5.0
)

// Conflict is a key whose reported values spread beyond the tolerance.
type Conflict struct {
	Reporter     string
	Period       Period
	Flow         bilatv1.TradeFlow
	Scope        bilatv1.TradeScope
	Observations []Observation
	SpreadPct    float64
	TolerancePct float64
}

// Conflicts lists keys with two or more comparable reported values (targets
// aside) whose spread (max − min) / max(|max|, |min|) × 100 exceeds the
// tolerance (tolerance ≤ 0 means ConflictTolerancePct; at least
// ApproxTolerancePct when a value is approximate). Values in different
// currencies without USD are not compared.
func Conflicts(obs []Observation, tolerance float64) []Conflict {
	if tolerance <= 0 {
		tolerance = ConflictTolerancePct
	}
	type key struct {
		g GroupKey
		f bilatv1.TradeFlow
	}
	byKey := map[key][]Observation{}
	for _, o := range obs {
		if !o.Target {
			k := key{GroupKey{o.Reporter, o.Period, o.Scope}, o.Flow}
			byKey[k] = append(byKey[k], o)
		}
	}
	var out []Conflict
	for k, os := range byKey {
		if len(os) < 2 {
			continue
		}
		var amounts []float64
		approx := false
		usd := true
		for _, o := range os {
			usd = usd && o.HasUSD
			approx = approx || o.Approximate
		}
		cur := os[0].Currency
		for _, o := range os {
			switch {
			case usd:
				amounts = append(amounts, o.USD)
			case o.Currency == cur:
				amounts = append(amounts, o.Original)
			default:
				amounts = nil
			}
			if amounts == nil {
				break
			}
		}
		if len(amounts) < 2 {
			continue
		}
		tol := tolerance
		if approx {
			tol = max(tol, ApproxTolerancePct)
		}
		hi, lo := slices.Max(amounts), slices.Min(amounts)
		den := max(math.Abs(hi), math.Abs(lo))
		if den == 0 {
			continue
		}
		spread := (hi - lo) / den * 100
		if spread > tol {
			s := slices.Clone(os)
			slices.SortFunc(s, betterObservation)
			out = append(out, Conflict{Reporter: k.g.Reporter, Period: k.g.Period, Flow: k.f, Scope: k.g.Scope,
				Observations: s, SpreadPct: spread, TolerancePct: tol})
		}
	}
	slices.SortFunc(out, func(a, b Conflict) int {
		return cmp.Or(strings.Compare(a.Reporter, b.Reporter), a.Period.compare(b.Period), cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Scope, b.Scope))
	})
	return out
}

// totalScopes are the scopes that may stand for a partner's total trade,
// most specific first: a specified scope beats an unspecified one, and
// services alone never stand for the total.
var totalScopes = []bilatv1.TradeScope{bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES,
	bilatv1.TradeScope_TRADE_SCOPE_GOODS, bilatv1.TradeScope_TRADE_SCOPE_UNSPECIFIED}

// TotalValue picks the value of a flow for a reporter and period across
// scopes, by totalScopes order; ok is false when none has it.
func TotalValue(groups []*Group, reporter string, p Period, flow bilatv1.TradeFlow) (*Value, bilatv1.TradeScope, bool) {
	for _, sc := range totalScopes {
		for _, g := range groups {
			if g.Key.Reporter == reporter && g.Key.Period == p && g.Key.Scope == sc && g.Values[flow] != nil {
				return g.Values[flow], sc, true
			}
		}
	}
	return nil, 0, false
}

// ScopeMatches reports whether an actual value's scope answers a target's:
// the same scope, or any total scope for an unspecified target.
func ScopeMatches(target, actual bilatv1.TradeScope) bool {
	if target == actual {
		return true
	}
	return target == bilatv1.TradeScope_TRADE_SCOPE_UNSPECIFIED && slices.Contains(totalScopes, actual)
}

// Flows is the output order of the flows.
func Flows() []bilatv1.TradeFlow { return slices.Clone(flows) }
