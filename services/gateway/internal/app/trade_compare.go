package app

import (
	"context"
	"fmt"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

// Compare answers TradeService.CompareTrade from StatisticsService and the
// gazetteer.
type Compare struct {
	g  Gazetteer
	st TradeStats
}

// NewCompare returns the comparison use case.
func NewCompare(g Gazetteer, st TradeStats) *Compare { return &Compare{g: g, st: st} }

// CompareTrade puts the partners' trade side by side. Every partner is
// checked against the gazetteer first (an unknown one is NotFound, before
// any statistics work), then each partner's balance and growth are asked
// for concurrently.
func (c *Compare) CompareTrade(ctx context.Context, q domain.CompareQuery) (*bilatv1.CompareTradeResponse, error) {
	if err := violationsErr(domain.ValidateCompare(q)); err != nil {
		return nil, err
	}
	flow := domain.FlowOrTurnover(q.Flow)
	ents, err := lookUpPartners(ctx, c.g, q.Partners)
	if err != nil {
		return nil, err
	}
	cols := make([]domain.PartnerSeries, len(q.Partners))
	cagr := make([][]*bilatv1.Cagr, len(q.Partners))
	// Two calls per partner: even indexes ask the balance, odd ones the growth.
	err = fanOut(ctx, fanOutLimit, 2*len(q.Partners), func(ctx context.Context, i int) error {
		p := q.Partners[i/2]
		if i%2 == 0 {
			r, err := c.st.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{
				Partner: p, Reporter: q.Reporter, FromYear: q.FromYear, ToYear: q.ToYear,
			})
			if err != nil && !noFigures(err) {
				return fmt.Errorf("trade balance of %q: %w", p, err)
			}
			cols[i/2].Periods = r.GetPeriods()
			return nil
		}
		r, err := c.st.TradeGrowth(ctx, &bilatv1.ComputeTradeGrowthRequest{
			Partner: p, Reporter: q.Reporter, Flow: flow, FromYear: q.FromYear, ToYear: q.ToYear,
		})
		if err != nil && !noFigures(err) {
			return fmt.Errorf("trade growth of %q: %w", p, err)
		}
		cols[i/2].Growth, cagr[i/2] = r.GetPoints(), r.GetCagr()
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp := &bilatv1.CompareTradeResponse{Flow: flow}
	for i, p := range q.Partners {
		cols[i].Partner = p
	}
	years, reporters := domain.BuildComparison(flow, cols)
	for i, p := range q.Partners {
		resp.Partners = append(resp.Partners, &bilatv1.PartnerTrade{
			Partner: p, Name: ents[i].GetEntity().GetName(), Periods: cols[i].Periods, Cagr: cagr[i], Reporter: reporters[i],
		})
	}
	resp.Years = years
	return resp, nil
}
