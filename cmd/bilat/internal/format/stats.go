package format

import (
	"fmt"
	"strconv"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// TradeValue prints a computed trade value: its USD amount (with the
// original when in another currency), "~" when hedged, "*" when derived;
// a value without a USD conversion shows its own currency and says so.
func TradeValue(v *bilatv1.TradeValue) string {
	if v == nil {
		return "-"
	}
	var s string
	if v.GetUsd() != nil {
		s = Money(v.GetUsd(), v.GetApproximate())
		if o := v.GetOriginal(); o != nil && o.GetCurrency() != "USD" {
			s += " (" + Money(o, false) + ")"
		}
	} else {
		s = Money(v.GetOriginal(), v.GetApproximate()) + " (no USD value)"
	}
	if v.GetDerived() {
		s += " *"
	}
	return s
}

// Percent prints an optional percentage with its sign and two decimals;
// nil prints as "-".
func Percent(p *float64) string {
	if p == nil {
		return "-"
	}
	s := strconv.FormatFloat(*p, 'f', 2, 64)
	if *p >= 0 {
		s = "+" + s
	}
	return s + "%"
}

// Ratio prints a non-negative percentage (progress, spread) without sign.
func Ratio(p float64) string { return strings.TrimPrefix(Percent(&p), "+") }

// Score prints a match score with two decimals.
func Score(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

func scope(s bilatv1.TradeScope) string { return EnumName(s) }

// BalanceView is `trade balance`: one row per reporter, period and scope.
var BalanceView = View[*bilatv1.TradePeriodStats]{
	{Name: "PERIOD", Cell: func(p *bilatv1.TradePeriodStats) string { return Period(p.GetPeriod()) }},
	{Name: "REPORTER", Cell: (*bilatv1.TradePeriodStats).GetReporter},
	{Name: "SCOPE", Cell: func(p *bilatv1.TradePeriodStats) string { return scope(p.GetScope()) }},
	{Name: "TURNOVER", Cell: flowValue(bilatv1.TradeFlow_TRADE_FLOW_TURNOVER)},
	{Name: "EXPORTS", Cell: flowValue(bilatv1.TradeFlow_TRADE_FLOW_EXPORTS)},
	{Name: "IMPORTS", Cell: flowValue(bilatv1.TradeFlow_TRADE_FLOW_IMPORTS)},
	{Name: "BALANCE", Cell: flowValue(bilatv1.TradeFlow_TRADE_FLOW_BALANCE)},
	{Name: "ROLL-UP", Cell: (*bilatv1.TradePeriodStats).GetRollup},
}

func flowValue(f bilatv1.TradeFlow) func(*bilatv1.TradePeriodStats) string {
	return func(p *bilatv1.TradePeriodStats) string {
		for _, v := range p.GetValues() {
			if v.GetFlow() == f {
				return TradeValue(v)
			}
		}
		return "-"
	}
}

// GrowthRow is a year-on-year point or, when Cagr is set, a CAGR line.
type GrowthRow struct {
	Point *bilatv1.GrowthPoint
	Cagr  *bilatv1.Cagr
}

// GrowthRows lists the points, then the CAGR lines.
func GrowthRows(resp *bilatv1.GetTradeGrowthResponse) []GrowthRow {
	var rows []GrowthRow
	for _, p := range resp.GetPoints() {
		rows = append(rows, GrowthRow{Point: p})
	}
	for _, c := range resp.GetCagr() {
		rows = append(rows, GrowthRow{Cagr: c})
	}
	return rows
}

func growthCell(point func(*bilatv1.GrowthPoint) string, cagr func(*bilatv1.Cagr) string) func(GrowthRow) string {
	return func(r GrowthRow) string {
		if r.Cagr != nil {
			return cagr(r.Cagr)
		}
		return point(r.Point)
	}
}

// GrowthView is `trade growth`: "!" flags a stated growth more than one
// point away from the computed one.
var GrowthView = View[GrowthRow]{
	{Name: "PERIOD", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return Period(p.GetPeriod()) },
		func(c *bilatv1.Cagr) string { return fmt.Sprintf("%d..%d", c.GetFromYear(), c.GetToYear()) })},
	{Name: "REPORTER", Cell: growthCell((*bilatv1.GrowthPoint).GetReporter, (*bilatv1.Cagr).GetReporter)},
	{Name: "FLOW", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return EnumName(p.GetFlow()) },
		func(c *bilatv1.Cagr) string { return EnumName(c.GetFlow()) })},
	{Name: "SCOPE", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return scope(p.GetScope()) },
		func(c *bilatv1.Cagr) string { return scope(c.GetScope()) })},
	{Name: "VALUE", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return TradeValue(p.GetValue()) },
		func(c *bilatv1.Cagr) string { return TradeValue(c.GetToValue()) })},
	{Name: "BASE", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return Period(p.GetBase()) },
		func(c *bilatv1.Cagr) string { return strconv.Itoa(int(c.GetFromYear())) })},
	{Name: "BASE VALUE", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return TradeValue(p.GetBaseValue()) },
		func(c *bilatv1.Cagr) string { return TradeValue(c.GetFromValue()) })},
	{Name: "GROWTH", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return Percent(p.GrowthPct) },
		func(c *bilatv1.Cagr) string { v := c.GetCagrPct(); return Percent(&v) + " CAGR" })},
	{Name: "STATED", Cell: growthCell(func(p *bilatv1.GrowthPoint) string { return Percent(p.StatedGrowthPct) },
		func(*bilatv1.Cagr) string { return "-" })},
	{Name: "DISAGREES", Cell: growthCell(func(p *bilatv1.GrowthPoint) string {
		if p.GetDisagrees() {
			return "!"
		}
		return ""
	}, func(*bilatv1.Cagr) string { return "" })},
}

// TargetView is `trade target`.
var TargetView = View[*bilatv1.TargetProgress]{
	{Name: "TARGET YEAR", Cell: func(t *bilatv1.TargetProgress) string { return strconv.Itoa(int(t.GetTargetYear())) }},
	{Name: "REPORTER", Cell: (*bilatv1.TargetProgress).GetReporter},
	{Name: "FLOW", Cell: func(t *bilatv1.TargetProgress) string { return EnumName(t.GetFlow()) }},
	{Name: "TARGET", Cell: func(t *bilatv1.TargetProgress) string { return TradeValue(t.GetTarget()) }},
	{Name: "ACTUAL", Cell: func(t *bilatv1.TargetProgress) string {
		if t.GetActual() == nil {
			return "-"
		}
		return fmt.Sprintf("%s (%d, %s)", TradeValue(t.GetActual()), t.GetActualYear(), scope(t.GetActualScope()))
	}},
	{Name: "PROGRESS", Cell: func(t *bilatv1.TargetProgress) string { return Ratio(t.GetProgressPct()) }},
	{Name: "NEEDED", Cell: func(t *bilatv1.TargetProgress) string { return Percent(t.RequiredGrowthPct) + "/yr" }},
	{Name: "NOTE", Cell: (*bilatv1.TargetProgress).GetNote},
}

// RankRow is a ranked partner, or (Ranked nil) a partner without USD value.
type RankRow struct {
	Ranked     *bilatv1.RankedPartner
	WithoutUSD string
}

// RankRows lists the ranked partners, then those without a USD value.
func RankRows(resp *bilatv1.RankPartnersResponse) []RankRow {
	var rows []RankRow
	for _, r := range resp.GetPartners() {
		rows = append(rows, RankRow{Ranked: r})
	}
	for _, p := range resp.GetWithoutUsd() {
		rows = append(rows, RankRow{WithoutUSD: p})
	}
	return rows
}

// RankView is `trade rank`.
var RankView = View[RankRow]{
	{Name: "RANK", Cell: func(r RankRow) string {
		if r.Ranked == nil {
			return "-"
		}
		return strconv.Itoa(int(r.Ranked.GetRank()))
	}},
	{Name: "PARTNER", Cell: func(r RankRow) string { return Or(r.Ranked.GetPartner(), r.WithoutUSD) }},
	{Name: "SCOPE", Cell: func(r RankRow) string { return scope(r.Ranked.GetScope()) }},
	{Name: "VALUE", Cell: func(r RankRow) string {
		if r.Ranked == nil {
			return "no USD value"
		}
		return TradeValue(r.Ranked.GetValue())
	}},
	{Name: "GROWTH", Cell: func(r RankRow) string {
		if r.Ranked == nil {
			return "-"
		}
		return Percent(r.Ranked.GrowthPct)
	}},
}

// ConflictRow is one conflict of one partner.
type ConflictRow struct {
	Partner  string
	Conflict *bilatv1.TradeConflict
}

// ConflictsView is `trade conflicts`.
var ConflictsView = View[ConflictRow]{
	{Name: "PARTNER", Cell: func(r ConflictRow) string { return r.Partner }},
	{Name: "PERIOD", Cell: func(r ConflictRow) string { return Period(r.Conflict.GetPeriod()) }},
	{Name: "REPORTER", Cell: func(r ConflictRow) string { return r.Conflict.GetReporter() }},
	{Name: "FLOW", Cell: func(r ConflictRow) string { return EnumName(r.Conflict.GetFlow()) }},
	{Name: "SCOPE", Cell: func(r ConflictRow) string { return scope(r.Conflict.GetScope()) }},
	{Name: "SPREAD", Cell: func(r ConflictRow) string { return Ratio(r.Conflict.GetSpreadPct()) }},
	{Name: "TOLERANCE", Cell: func(r ConflictRow) string { return Ratio(r.Conflict.GetTolerancePct()) }},
	{Name: "VALUES", Cell: func(r ConflictRow) string {
		var vals []string
		for _, o := range r.Conflict.GetObservations() {
			vals = append(vals, TradeValue(o)+" ["+strings.Join(o.GetFigureIds(), ",")+"]")
		}
		return strings.Join(vals, "; ")
	}},
}

// StatCountsView is the long form of `agreements stats` (CSV): one row per
// dimension, value and year. The table form pivots years into columns.
var StatCountsView = View[*bilatv1.DimensionCount]{
	{Name: "DIMENSION", Cell: (*bilatv1.DimensionCount).GetDimension},
	{Name: "VALUE", Cell: (*bilatv1.DimensionCount).GetValue},
	{Name: "YEAR", Cell: func(c *bilatv1.DimensionCount) string { return strconv.Itoa(int(c.GetYear())) }},
	{Name: "COUNT", Cell: func(c *bilatv1.DimensionCount) string { return strconv.FormatInt(c.GetCount(), 10) }},
}

// TopPartnersView lists the partners with the most agreements, ranked.
var TopPartnersView = View[Ranked[*bilatv1.PartnerCount]]{
	{Name: "RANK", Cell: func(r Ranked[*bilatv1.PartnerCount]) string { return strconv.Itoa(r.Rank) }},
	{Name: "PARTNER", Cell: func(r Ranked[*bilatv1.PartnerCount]) string { return r.Item.GetPartner() }},
	{Name: "AGREEMENTS", Cell: func(r Ranked[*bilatv1.PartnerCount]) string { return strconv.FormatInt(r.Item.GetAgreements(), 10) }},
}

// Ranked numbers items from 1 in their order.
type Ranked[T any] struct {
	Rank int
	Item T
}

// Rank numbers items from 1.
func Rank[T any](items []T) []Ranked[T] {
	out := make([]Ranked[T], len(items))
	for i, it := range items {
		out[i] = Ranked[T]{i + 1, it}
	}
	return out
}

// ResolveRow is one name given to `entities resolve` with its answer.
type ResolveRow struct {
	Name string
	Resp *bilatv1.ResolveEntityResponse
}

// CandidateList prints runner-up candidates as "CODE score, ...".
func CandidateList(cs []*bilatv1.Candidate) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %s", c.GetCode(), Score(c.GetScore())))
	}
	return strings.Join(parts, ", ")
}

// ResolutionName prints a resolution without its prefix ("resolved").
func ResolutionName(r bilatv1.Resolution) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "RESOLUTION_"))
}

// ResolveView is `entities resolve`.
var ResolveView = View[ResolveRow]{
	{Name: "NAME", Cell: func(r ResolveRow) string { return r.Name }},
	{Name: "RESOLUTION", Cell: func(r ResolveRow) string { return ResolutionName(r.Resp.GetResolution()) }},
	{Name: "CODE", Cell: func(r ResolveRow) string { return Or(r.Resp.GetEntity().GetCode(), "-") }},
	{Name: "KIND", Cell: func(r ResolveRow) string { return Or(EnumName(r.Resp.GetEntity().GetKind()), "-") }},
	{Name: "ENTITY", Cell: func(r ResolveRow) string { return Or(r.Resp.GetEntity().GetName(), "-") }},
	{Name: "PARENT", Cell: func(r ResolveRow) string { return Or(r.Resp.GetEntity().GetParent(), "-") }},
	{Name: "CONFIDENCE", Cell: func(r ResolveRow) string { return Score(r.Resp.GetConfidence()) }},
	{Name: "METHOD", Cell: func(r ResolveRow) string { return Or(r.Resp.GetMethod(), "-") }},
	{Name: "CANDIDATES", Cell: func(r ResolveRow) string { return Or(CandidateList(r.Resp.GetCandidates()), "-") }},
}

// SearchHitsView is `entities search`.
var SearchHitsView = View[*bilatv1.SearchHit]{
	{Name: "CODE", Cell: func(h *bilatv1.SearchHit) string { return h.GetEntity().GetCode() }},
	{Name: "KIND", Cell: func(h *bilatv1.SearchHit) string { return EnumName(h.GetEntity().GetKind()) }},
	{Name: "NAME", Cell: func(h *bilatv1.SearchHit) string { return h.GetEntity().GetName() }},
	{Name: "PARENT", Cell: func(h *bilatv1.SearchHit) string { return Or(h.GetEntity().GetParent(), "-") }},
	{Name: "MATCHED", Cell: (*bilatv1.SearchHit).GetMatchedAlias},
	{Name: "SCORE", Cell: func(h *bilatv1.SearchHit) string { return Score(h.GetScore()) }},
}

// UnresolvedView is `entities unresolved`.
var UnresolvedView = View[*bilatv1.UnresolvedName]{
	{Name: "EVENTS", Cell: func(n *bilatv1.UnresolvedName) string { return strconv.FormatInt(n.GetCount(), 10) }},
	{Name: "NAME", Cell: (*bilatv1.UnresolvedName).GetName},
	{Name: "RESOLUTION", Cell: func(n *bilatv1.UnresolvedName) string { return ResolutionName(n.GetResolution()) }},
	{Name: "CANDIDATES", Cell: func(n *bilatv1.UnresolvedName) string { return Or(CandidateList(n.GetCandidates()), "-") }},
}
