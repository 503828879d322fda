package domain

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Limits of CompareTrade.
const (
	MinComparePartners = 2
	MaxComparePartners = 20
)

// CompareQuery is a CompareTrade request.
type CompareQuery struct {
	Partners []string
	Reporter string
	FromYear int32
	ToYear   int32
	Flow     bilatv1.TradeFlow
}

// ValidateCompare checks a CompareTrade request: 2..20 distinct partner
// codes, a valid reporter code, flow and year range.
func ValidateCompare(q CompareQuery) []Violation {
	var vs []Violation
	switch n := len(q.Partners); {
	case n < MinComparePartners:
		vs = append(vs, Violation{"partners", fmt.Sprintf("needs at least %d partner codes, got %d", MinComparePartners, n)})
	case n > MaxComparePartners:
		vs = append(vs, Violation{"partners", fmt.Sprintf("at most %d partner codes, got %d", MaxComparePartners, n)})
	}
	vs = append(vs, validateCodes("partners", q.Partners)...)
	if q.Reporter != "" && !reCode.MatchString(q.Reporter) {
		vs = append(vs, Violation{"reporter", codeHelp})
	}
	if _, ok := bilatv1.TradeFlow_name[int32(q.Flow)]; !ok {
		vs = append(vs, Violation{"flow", fmt.Sprintf("%d is not a bilat.v1.TradeFlow value", q.Flow)})
	}
	return append(vs, validateYears(q.FromYear, q.ToYear)...)
}

// validateCodes checks a list of entity codes: none empty, malformed or repeated.
func validateCodes(field string, codes []string) []Violation {
	var vs []Violation
	seen := make(map[string]int, len(codes))
	for i, c := range codes {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case c == "":
			vs = append(vs, Violation{f, "must not be empty (" + codeHelp + ")"})
		case !reCode.MatchString(c):
			vs = append(vs, Violation{f, codeHelp})
		default:
			if j, dup := seen[c]; dup {
				vs = append(vs, Violation{f, fmt.Sprintf("%q repeats %s[%d]", c, field, j)})
				continue
			}
			seen[c] = i
		}
	}
	return vs
}

// FlowOrTurnover is the flow a comparison or an alert watches: turnover
// when the request leaves it unspecified.
func FlowOrTurnover(f bilatv1.TradeFlow) bilatv1.TradeFlow {
	if f == bilatv1.TradeFlow_TRADE_FLOW_UNSPECIFIED {
		return bilatv1.TradeFlow_TRADE_FLOW_TURNOVER
	}
	return f
}

// PartnerSeries is what StatisticsService answered for one partner of a
// comparison.
type PartnerSeries struct {
	Partner string
	Periods []*bilatv1.TradePeriodStats
	Growth  []*bilatv1.GrowthPoint
}

// MoneyAmount is a Money as a float.
func MoneyAmount(m *bilatv1.Money) float64 {
	return float64(m.GetUnits()) + float64(m.GetNanos())/1e9
}

// Round2 rounds a percentage to two decimals, half away from zero (as
// StatisticsService rounds).
func Round2(v float64) float64 { return math.Round(v*100) / 100 }

// totalScopeRank orders the scopes that may stand for a partner's total
// trade (docs/statistics.md: the most specific total scope wins); services
// alone never do.
func totalScopeRank(s bilatv1.TradeScope) (int, bool) {
	switch s {
	case bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES:
		return 0, true
	case bilatv1.TradeScope_TRADE_SCOPE_GOODS:
		return 1, true
	case bilatv1.TradeScope_TRADE_SCOPE_UNSPECIFIED:
		return 2, true
	}
	return 0, false
}

// countryReporter tells a country-level reporter ("BY") from its regions
// and cities ("BY-MI", "BY-HM.minsk"): with every reporter asked for, the
// country's own figure is the one that stands for the year.
func countryReporter(code string) bool { return !strings.ContainsAny(code, "-.") }

// annual reports whether a period is a whole calendar year.
func annual(p *bilatv1.Period) bool { return p.GetFirstMonth() == 0 && p.GetLastMonth() == 0 }

// FlowValue returns the value of flow in s when it has a USD amount.
func FlowValue(s *bilatv1.TradePeriodStats, flow bilatv1.TradeFlow) (*bilatv1.TradeValue, bool) {
	for _, v := range s.GetValues() {
		if v.GetFlow() == flow && v.GetUsd() != nil && !v.GetNoUsdValue() {
			return v, true
		}
	}
	return nil, false
}

// yearCell is the value standing for one partner's year.
type yearCell struct {
	reporter string
	scope    bilatv1.TradeScope
	value    *bilatv1.TradeValue
}

// columnReporter is the one reporter whose figures fill a partner's
// column, so its years stay comparable with each other: a country-level
// reporter before its regions and cities, then the one with the most whole
// years of flow, then the smaller code (so the choice never depends on the
// order StatisticsService answered in).
func columnReporter(periods []*bilatv1.TradePeriodStats, flow bilatv1.TradeFlow) string {
	years := map[string]map[int32]bool{}
	for _, s := range periods {
		if !annual(s.GetPeriod()) || s.GetRollup() != "" {
			continue
		}
		if _, ok := totalScopeRank(s.GetScope()); !ok {
			continue
		}
		if _, ok := FlowValue(s, flow); !ok {
			continue
		}
		if years[s.GetReporter()] == nil {
			years[s.GetReporter()] = map[int32]bool{}
		}
		years[s.GetReporter()][s.GetPeriod().GetYear()] = true
	}
	best := ""
	rank := func(r string) int {
		if countryReporter(r) {
			return 0
		}
		return 1
	}
	for r := range years {
		if best == "" || cmp.Or(cmp.Compare(rank(r), rank(best)), cmp.Compare(len(years[best]), len(years[r])),
			strings.Compare(r, best)) < 0 {
			best = r
		}
	}
	return best
}

// pickYears chooses, per calendar year, the value of flow that stands for
// the partner: the column reporter's, of the most specific total scope.
func pickYears(periods []*bilatv1.TradePeriodStats, flow bilatv1.TradeFlow, reporter string) map[int32]yearCell {
	type cand struct {
		yearCell
		rank int
	}
	best := map[int32]cand{}
	for _, s := range periods {
		if !annual(s.GetPeriod()) || s.GetRollup() != "" || s.GetReporter() != reporter {
			continue
		}
		sr, ok := totalScopeRank(s.GetScope())
		if !ok {
			continue
		}
		v, ok := FlowValue(s, flow)
		if !ok {
			continue
		}
		y := s.GetPeriod().GetYear()
		if old, seen := best[y]; !seen || sr < old.rank {
			best[y] = cand{yearCell{s.GetReporter(), s.GetScope(), v}, sr}
		}
	}
	out := make(map[int32]yearCell, len(best))
	for y, c := range best {
		out[y] = c.yearCell
	}
	return out
}

// yoy is the partner's change from the previous year for the chosen cell:
// StatisticsService's year-on-year growth for the same reporter, flow and
// scope when it computed one (its base may come from a stated growth),
// else the change from the previous year's cell of the same reporter and
// scope; unknown otherwise.
func yoy(year int32, c yearCell, prev map[int32]yearCell, growth []*bilatv1.GrowthPoint, flow bilatv1.TradeFlow) *float64 {
	for _, g := range growth {
		if g.GetFlow() == flow && g.GetReporter() == c.reporter && g.GetScope() == c.scope &&
			annual(g.GetPeriod()) && g.GetPeriod().GetYear() == year && g.GrowthPct != nil {
			v := Round2(g.GetGrowthPct())
			return &v
		}
	}
	p, ok := prev[year-1]
	if !ok || p.reporter != c.reporter || p.scope != c.scope {
		return nil
	}
	base := MoneyAmount(p.value.GetUsd())
	if base == 0 {
		return nil
	}
	v := Round2((MoneyAmount(c.value.GetUsd()) - base) / math.Abs(base) * 100)
	return &v
}

// BuildComparison lays the partners' calendar-year values of flow side by
// side, oldest year first, one cell per partner in request order, and
// returns the reporter chosen for each partner's column. A share is the
// partner's part of the sum of absolute values of the year (so a negative
// balance keeps its sign and the shares of positive flows add up to 100).
func BuildComparison(flow bilatv1.TradeFlow, cols []PartnerSeries) ([]*bilatv1.CompareYear, []string) {
	picked := make([]map[int32]yearCell, len(cols))
	reporters := make([]string, len(cols))
	years := map[int32]bool{}
	for i, c := range cols {
		reporters[i] = columnReporter(c.Periods, flow)
		picked[i] = pickYears(c.Periods, flow, reporters[i])
		for y := range picked[i] {
			years[y] = true
		}
	}
	ys := make([]int32, 0, len(years))
	for y := range years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	out := make([]*bilatv1.CompareYear, 0, len(ys))
	for _, y := range ys {
		var total float64
		for i := range cols {
			if c, ok := picked[i][y]; ok {
				total += math.Abs(MoneyAmount(c.value.GetUsd()))
			}
		}
		row := &bilatv1.CompareYear{Year: y}
		for i, col := range cols {
			cell := &bilatv1.CompareCell{Partner: col.Partner}
			if c, ok := picked[i][y]; ok {
				cell.Usd = proto.Clone(c.value.GetUsd()).(*bilatv1.Money)
				cell.Derived = c.value.GetDerived()
				if total != 0 {
					cell.SharePct = Round2(MoneyAmount(c.value.GetUsd()) / total * 100)
				}
				cell.YoyPct = yoy(y, c, picked[i], col.Growth, flow)
			}
			row.Cells = append(row.Cells, cell)
		}
		out = append(out, row)
	}
	return out, reporters
}
