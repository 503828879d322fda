package domain

import (
	"fmt"
	"math"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// MaxAlertPartners bounds the partners one WatchTradeAlerts call watches
// (each is a subject filter of the stream consumer).
const MaxAlertPartners = 100

// AlertQuery is a WatchTradeAlerts request.
type AlertQuery struct {
	Partners      []string
	Reporter      string
	Flow          bilatv1.TradeFlow
	ThresholdPct  float64
	AfterPosition string
	Start         bilatv1.WatchStart
}

// ValidateAlerts checks a WatchTradeAlerts request (the position is checked
// by the caller, which knows the stream).
func ValidateAlerts(q AlertQuery) []Violation {
	var vs []Violation
	if len(q.Partners) > MaxAlertPartners {
		vs = append(vs, Violation{"partners", fmt.Sprintf("at most %d partner codes, got %d", MaxAlertPartners, len(q.Partners))})
	}
	vs = append(vs, validateCodes("partners", q.Partners)...)
	if q.Reporter != "" && !reCode.MatchString(q.Reporter) {
		vs = append(vs, Violation{"reporter", codeHelp})
	}
	if _, ok := bilatv1.TradeFlow_name[int32(q.Flow)]; !ok {
		vs = append(vs, Violation{"flow", fmt.Sprintf("%d is not a bilat.v1.TradeFlow value", q.Flow)})
	}
	if !(q.ThresholdPct > 0) || math.IsInf(q.ThresholdPct, 0) {
		vs = append(vs, Violation{"threshold_pct", "must be a number of percent greater than 0"})
	}
	if _, ok := bilatv1.WatchStart_name[int32(q.Start)]; !ok {
		vs = append(vs, Violation{"start", fmt.Sprintf("%d is not a bilat.v1.WatchStart value", q.Start)})
	}
	return vs
}

// FigureUSD is a figure's value in USD as statistics counts it:
// enrichment's conversion when there is one, else the value itself when it
// is in USD; false when the figure has no USD value.
func FigureUSD(f *bilatv1.TradeFigure) (*bilatv1.Money, bool) {
	if fx := f.GetValueUsd(); fx != nil && !fx.GetGap() && fx.GetUsd() != nil {
		return fx.GetUsd(), true
	}
	if f.GetValue().GetCurrency() == "USD" {
		return f.GetValue(), true
	}
	return nil, false
}

// AlertCandidate says whether a figure can fire an alert of q at all: a
// resolved partner and reporter among the watched ones, the watched flow,
// an outcome (not a target) with a USD value. It returns the USD value.
func AlertCandidate(q AlertQuery, watched map[string]bool, f *bilatv1.TradeFigure) (*bilatv1.Money, bool) {
	partner, reporter := f.GetPartner().GetCode(), f.GetReporter().GetCode()
	switch {
	case partner == "" || reporter == "" || f.GetPeriod().GetYear() <= MinYear:
		return nil, false
	case len(watched) > 0 && !watched[partner]:
		return nil, false
	case q.Reporter != "" && reporter != q.Reporter:
		return nil, false
	case f.GetFlow() != FlowOrTurnover(q.Flow) || f.GetIsTarget():
		return nil, false
	}
	return FigureUSD(f)
}

// PreviousPeriod is the period of the same length one year earlier.
func PreviousPeriod(p *bilatv1.Period) *bilatv1.Period {
	return &bilatv1.Period{Year: p.GetYear() - 1, FirstMonth: p.GetFirstMonth(), LastMonth: p.GetLastMonth()}
}

// PreviousValue finds, in StatisticsService's balance of the previous
// year, the best USD value of the same reporter, flow, scope and months as
// the figure.
func PreviousValue(periods []*bilatv1.TradePeriodStats, f *bilatv1.TradeFigure) (*bilatv1.TradeValue, bool) {
	want := PreviousPeriod(f.GetPeriod())
	for _, s := range periods {
		p := s.GetPeriod()
		if s.GetRollup() != "" || s.GetReporter() != f.GetReporter().GetCode() || s.GetScope() != f.GetScope() ||
			p.GetYear() != want.GetYear() || p.GetFirstMonth() != want.GetFirstMonth() || p.GetLastMonth() != want.GetLastMonth() {
			continue
		}
		return FlowValue(s, f.GetFlow())
	}
	return nil, false
}

// ChangePct is (usd - previous) / previous in percent, as the API states
// it; false when previous is 0 (no change can be expressed).
func ChangePct(usd, previous *bilatv1.Money) (float64, bool) {
	base := MoneyAmount(previous)
	if base == 0 {
		return 0, false
	}
	return (MoneyAmount(usd) - base) / base * 100, true
}

// Fires reports whether a change reaches the threshold (in absolute value).
func Fires(changePct, thresholdPct float64) bool { return math.Abs(changePct) >= thresholdPct }
