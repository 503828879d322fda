package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/statistics/internal/domain"
)

// ErrNotFound means the partner has no records of the kind asked about.
var ErrNotFound = errors.New("not found")

// Admin drops and replays the projections and digests them.
type Admin interface {
	Rebuild(ctx context.Context) (*bilatv1.RebuildProjectionsResponse, error)
	Checksum(ctx context.Context) (string, int64, error)
}

// SetGazetteer gives the service the entities bloc and region roll-ups need.
func (s *Service) SetGazetteer(g *domain.Gazetteer) { s.gaz = g }

// SetAdmin gives the service the rebuild and checksum operations.
func (s *Service) SetAdmin(a Admin) { s.admin = a }

func invalid(field, desc string) error {
	return &ValidationError{Violations: []domain.Violation{{Field: field, Description: desc}}}
}

func validate(vs []domain.Violation) error {
	if len(vs) > 0 {
		return &ValidationError{Violations: vs}
	}
	return nil
}

func requirePartner(partner string) []domain.Violation {
	if partner == "" {
		return []domain.Violation{{Field: "partner", Description: "is required (an entity code such as AF, GE, bloc.eaeu)"}}
	}
	return nil
}

// observations reads every figure recorded for a partner.
func (s *Service) observations(ctx context.Context, partner string) ([]domain.Observation, error) {
	pts, err := s.counts.GetTradeSeries(ctx, projection.TradeFilter{Partner: partner})
	if err != nil {
		return nil, fmt.Errorf("trade series of %q: %w", partner, err)
	}
	var out []domain.Observation
	for _, p := range pts {
		for _, f := range p.GetFigures() {
			out = append(out, domain.ObservationOf(p.GetReporter(), f))
		}
	}
	return out, nil
}

func (s *Service) partnerObservations(ctx context.Context, partner string) ([]domain.Observation, error) {
	obs, err := s.observations(ctx, partner)
	if err != nil {
		return nil, err
	}
	if len(obs) == 0 {
		return nil, fmt.Errorf("trade figures of %q: %w", partner, ErrNotFound)
	}
	return obs, nil
}

func inYears(y, from, to int32) bool { return (from == 0 || y >= from) && (to == 0 || y <= to) }

// money rounds an amount to cents.
func money(x float64, currency string) *bilatv1.Money {
	cents := math.Round(x * 100)
	units := math.Trunc(cents / 100)
	nanos := (cents - units*100) * 1e7
	return &bilatv1.Money{Currency: currency, Units: int64(units), Nanos: int32(nanos)}
}

func tradeValue(v *domain.Value) *bilatv1.TradeValue {
	if v == nil {
		return nil
	}
	out := &bilatv1.TradeValue{
		Flow: v.Flow, Derived: v.Derived, Formula: v.Formula, FigureIds: slices.Clone(v.FigureIDs),
		Approximate: v.Approximate, NoUsdValue: !v.HasUSD, Observations: int32(v.Observations),
	}
	if v.HasUSD {
		out.Usd = money(v.USD, "USD")
	}
	if v.Currency != "" {
		out.Original = money(v.Original, v.Currency)
	}
	return out
}

func pct(x float64) *float64 {
	r := domain.Round(x, 2)
	return &r
}

func statsOf(g *domain.Group) *bilatv1.TradePeriodStats {
	ps := &bilatv1.TradePeriodStats{Reporter: g.Key.Reporter, Period: g.Key.Period.Proto(), Scope: g.Key.Scope}
	for _, f := range domain.Flows() {
		if v := g.Values[f]; v != nil {
			ps.Values = append(ps.Values, tradeValue(v))
		}
	}
	return ps
}

// TradeBalance answers ComputeTradeBalance.
func (s *Service) TradeBalance(ctx context.Context, req *bilatv1.ComputeTradeBalanceRequest) (*bilatv1.ComputeTradeBalanceResponse, error) {
	vs := append(requirePartner(req.GetPartner()), domain.ValidateYearRange(req.GetFromYear(), req.GetToYear())...)
	if _, ok := bilatv1.Rollup_name[int32(req.GetRollup())]; !ok {
		vs = append(vs, domain.Violation{Field: "rollup", Description: "unknown roll-up"})
	}
	if err := validate(vs); err != nil {
		return nil, err
	}
	resp := &bilatv1.ComputeTradeBalanceResponse{Partner: req.GetPartner()}
	keep := func(k domain.GroupKey) bool {
		return (req.GetReporter() == "" || k.Reporter == req.GetReporter()) && inYears(k.Period.Year, req.GetFromYear(), req.GetToYear())
	}
	if req.GetRollup() == bilatv1.Rollup_ROLLUP_UNSPECIFIED {
		obs, err := s.partnerObservations(ctx, req.GetPartner())
		if err != nil {
			return nil, err
		}
		for _, g := range domain.Groups(obs) {
			if keep(g.Key) {
				resp.Periods = append(resp.Periods, statsOf(g))
			}
		}
		return resp, nil
	}
	periods, err := s.rollup(ctx, req.GetPartner(), req.GetRollup(), keep)
	if err != nil {
		return nil, err
	}
	resp.Periods = periods
	return resp, nil
}

// rollup sums the best values of a bloc's members (as of each period) or
// of a country's regions, per reporter, period and scope. The partner's
// own figures are never part of it; the reporter itself is never its own partner.
func (s *Service) rollup(ctx context.Context, partner string, kind bilatv1.Rollup, keep func(domain.GroupKey) bool) ([]*bilatv1.TradePeriodStats, error) {
	if s.gaz == nil || !s.gaz.Known(partner) {
		return nil, fmt.Errorf("entity %q in the gazetteer: %w", partner, ErrNotFound)
	}
	var candidates []string
	switch kind {
	case bilatv1.Rollup_ROLLUP_BLOC_MEMBERS:
		if !s.gaz.IsBloc(partner) {
			return nil, invalid("rollup", fmt.Sprintf("%s is not a bloc; bloc roll-ups need a bloc code such as bloc.eaeu", partner))
		}
		candidates = s.gaz.EverMembers(partner)
	case bilatv1.Rollup_ROLLUP_REGIONS:
		candidates = s.gaz.Regions(partner)
	}
	memberGroups := map[string]map[domain.GroupKey]*domain.Group{}
	keys := map[domain.GroupKey]bool{}
	for _, m := range candidates {
		obs, err := s.observations(ctx, m)
		if err != nil {
			return nil, err
		}
		idx := map[domain.GroupKey]*domain.Group{}
		for _, g := range domain.Groups(obs) {
			if keep(g.Key) {
				idx[g.Key] = g
				keys[g.Key] = true
			}
		}
		memberGroups[m] = idx
	}
	sorted := make([]domain.GroupKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b domain.GroupKey) int {
		return cmp.Or(strings.Compare(a.Reporter, b.Reporter), cmp.Compare(a.Period.Year, b.Period.Year),
			cmp.Compare(a.Period.First, b.Period.First), cmp.Compare(a.Period.Last, b.Period.Last), cmp.Compare(a.Scope, b.Scope))
	})
	var out []*bilatv1.TradePeriodStats
	for _, k := range sorted {
		members := candidates
		label := "regions of " + partner
		if kind == bilatv1.Rollup_ROLLUP_BLOC_MEMBERS {
			members = s.gaz.Members(partner, k.Period)
			label = fmt.Sprintf("%s members as of %s", partner, k.Period)
		}
		members = slices.DeleteFunc(slices.Clone(members), func(m string) bool { return m == k.Reporter || strings.HasPrefix(k.Reporter, m+"-") })
		ps := &bilatv1.TradePeriodStats{Reporter: k.Reporter, Period: k.Period.Proto(), Scope: k.Scope,
			Rollup: label + ": " + strings.Join(members, ", ")}
		with := map[string]bool{}
		for _, f := range domain.Flows() {
			var parts []*domain.Value
			for _, m := range members {
				g := memberGroups[m][k]
				if g == nil || g.Values[f] == nil || coveredByAncestor(s.gaz.Ancestors(m), memberGroups, k, f) {
					continue
				}
				parts = append(parts, g.Values[f])
				with[m] = true
			}
			if v := domain.Sum(f, parts, "sum over "+label); v != nil {
				ps.Values = append(ps.Values, tradeValue(v))
			}
		}
		if len(with) == 0 {
			continue
		}
		for _, m := range members {
			if with[m] {
				ps.Members = append(ps.Members, m)
			}
		}
		out = append(out, ps)
	}
	return out, nil
}

// coveredByAncestor reports whether an enclosing entity in the roll-up has
// the value: a region's figure already includes its cities', so a city is
// summed only when its region has no figure (never twice).
func coveredByAncestor(ancestors []string, groups map[string]map[domain.GroupKey]*domain.Group, k domain.GroupKey, f bilatv1.TradeFlow) bool {
	for _, a := range ancestors {
		if g := groups[a][k]; g != nil && g.Values[f] != nil {
			return true
		}
	}
	return false
}

// TradeGrowth answers ComputeTradeGrowth.
func (s *Service) TradeGrowth(ctx context.Context, req *bilatv1.ComputeTradeGrowthRequest) (*bilatv1.ComputeTradeGrowthResponse, error) {
	vs := append(requirePartner(req.GetPartner()), domain.ValidateYearRange(req.GetFromYear(), req.GetToYear())...)
	if _, ok := bilatv1.TradeFlow_name[int32(req.GetFlow())]; !ok {
		vs = append(vs, domain.Violation{Field: "flow", Description: "unknown flow"})
	}
	if err := validate(vs); err != nil {
		return nil, err
	}
	obs, err := s.partnerObservations(ctx, req.GetPartner())
	if err != nil {
		return nil, err
	}
	groups := domain.Groups(obs)
	resp := &bilatv1.ComputeTradeGrowthResponse{Partner: req.GetPartner()}
	want := func(reporter string, f bilatv1.TradeFlow) bool {
		return (req.GetReporter() == "" || reporter == req.GetReporter()) &&
			(req.GetFlow() == bilatv1.TradeFlow_TRADE_FLOW_UNSPECIFIED || f == req.GetFlow())
	}
	for _, g := range domain.Growths(obs, groups) {
		if !want(g.Reporter, g.Flow) || !inYears(g.Period.Year, req.GetFromYear(), req.GetToYear()) {
			continue
		}
		p := &bilatv1.GrowthPoint{Reporter: g.Reporter, Flow: g.Flow, Scope: g.Scope, Period: g.Period.Proto(),
			Base: g.Base.Proto(), Value: tradeValue(g.Value), BaseValue: tradeValue(g.BaseValue), Disagrees: g.Disagrees,
			ImpliedBaseValue: tradeValue(g.Implied)}
		if g.HasGrowth {
			p.GrowthPct = pct(g.GrowthPct)
		}
		if g.Stated != nil {
			p.StatedGrowthPct = pct(*g.Stated)
		}
		resp.Points = append(resp.Points, p)
	}
	for _, c := range domain.CAGRs(groups, req.GetFromYear(), req.GetToYear()) {
		if !want(c.Reporter, c.Flow) {
			continue
		}
		resp.Cagr = append(resp.Cagr, &bilatv1.Cagr{Reporter: c.Reporter, Flow: c.Flow, Scope: c.Scope, FromYear: c.From,
			ToYear: c.To, FromValue: tradeValue(c.FromV), ToValue: tradeValue(c.ToV), CagrPct: domain.Round(c.Pct, 2)})
	}
	return resp, nil
}

// TargetProgress answers ComputeTargetProgress.
func (s *Service) TargetProgress(ctx context.Context, req *bilatv1.ComputeTargetProgressRequest) (*bilatv1.ComputeTargetProgressResponse, error) {
	if err := validate(requirePartner(req.GetPartner())); err != nil {
		return nil, err
	}
	obs, err := s.partnerObservations(ctx, req.GetPartner())
	if err != nil {
		return nil, err
	}
	resp := &bilatv1.ComputeTargetProgressResponse{Partner: req.GetPartner()}
	for _, t := range domain.Targets(obs, domain.Groups(obs)) {
		if req.GetReporter() != "" && t.Reporter != req.GetReporter() {
			continue
		}
		tp := &bilatv1.TargetProgress{Reporter: t.Reporter, Flow: t.Flow, Scope: t.Scope, TargetYear: t.Year,
			Target: tradeValue(t.Target), Actual: tradeValue(t.Actual), ActualYear: t.ActualYear, ActualScope: t.ActualScope,
			ProgressPct: domain.Round(t.ProgressPct, 2), Note: t.Note}
		if t.HasRequired {
			tp.RequiredGrowthPct = pct(t.Required)
		}
		resp.Targets = append(resp.Targets, tp)
	}
	if len(resp.Targets) == 0 {
		return nil, fmt.Errorf("targets for %q: %w", req.GetPartner(), ErrNotFound)
	}
	return resp, nil
}

var metricFlows = map[bilatv1.RankMetric]bilatv1.TradeFlow{
	bilatv1.RankMetric_RANK_METRIC_TURNOVER: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
	bilatv1.RankMetric_RANK_METRIC_EXPORTS:  bilatv1.TradeFlow_TRADE_FLOW_EXPORTS,
	bilatv1.RankMetric_RANK_METRIC_IMPORTS:  bilatv1.TradeFlow_TRADE_FLOW_IMPORTS,
	bilatv1.RankMetric_RANK_METRIC_BALANCE:  bilatv1.TradeFlow_TRADE_FLOW_BALANCE,
	bilatv1.RankMetric_RANK_METRIC_GROWTH:   bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
}

// Ranking answers ComputePartnerRanking.
func (s *Service) Ranking(ctx context.Context, req *bilatv1.ComputePartnerRankingRequest) (*bilatv1.ComputePartnerRankingResponse, error) {
	var vs []domain.Violation
	if req.GetYear() < domain.MinYear || req.GetYear() > domain.MaxYear {
		vs = append(vs, domain.Violation{Field: "year", Description: fmt.Sprintf("is required, between %d and %d", domain.MinYear, domain.MaxYear)})
	}
	flow, ok := metricFlows[req.GetMetric()]
	if !ok {
		vs = append(vs, domain.Violation{Field: "metric", Description: "must be turnover, exports, imports, balance or growth"})
	}
	if req.GetLimit() < 0 || req.GetLimit() > 500 {
		vs = append(vs, domain.Violation{Field: "limit", Description: "must be between 0 (default 20) and 500"})
	}
	if err := validate(vs); err != nil {
		return nil, err
	}
	reporter := cmp.Or(req.GetReporter(), "BY")
	partners, err := s.counts.PartnerCodes(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string][]domain.Observation{}
	for _, p := range partners {
		obs, err := s.observations(ctx, p)
		if err != nil {
			return nil, err
		}
		if len(obs) > 0 {
			by[p] = obs
		}
	}
	growth := req.GetMetric() == bilatv1.RankMetric_RANK_METRIC_GROWTH
	ranked, without := domain.Rank(by, reporter, req.GetYear(), flow, growth)
	limit := int(cmp.Or(req.GetLimit(), 20))
	resp := &bilatv1.ComputePartnerRankingResponse{Year: req.GetYear(), Metric: req.GetMetric(), WithoutUsd: without}
	for i, r := range ranked {
		if i == limit {
			break
		}
		rp := &bilatv1.RankedPartner{Rank: int32(i + 1), Partner: r.Partner, Reporter: reporter, Scope: r.Scope, Value: tradeValue(r.Value)}
		if r.HasGrowth {
			rp.GrowthPct = pct(r.GrowthPct)
		}
		resp.Partners = append(resp.Partners, rp)
	}
	return resp, nil
}

// Conflicts answers ListTradeConflicts.
func (s *Service) Conflicts(ctx context.Context, req *bilatv1.ListTradeConflictsRequest) (*bilatv1.ListTradeConflictsResponse, error) {
	vs := requirePartner(req.GetPartner())
	if t := req.GetTolerancePct(); t < 0 || t > 100 || math.IsNaN(t) {
		vs = append(vs, domain.Violation{Field: "tolerance_pct", Description: "must be between 0 (default 1) and 100"})
	}
	if err := validate(vs); err != nil {
		return nil, err
	}
	obs, err := s.partnerObservations(ctx, req.GetPartner())
	if err != nil {
		return nil, err
	}
	resp := &bilatv1.ListTradeConflictsResponse{Partner: req.GetPartner()}
	for _, c := range domain.Conflicts(obs, req.GetTolerancePct()) {
		tc := &bilatv1.TradeConflict{Reporter: c.Reporter, Period: c.Period.Proto(), Flow: c.Flow, Scope: c.Scope,
			SpreadPct: domain.Round(c.SpreadPct, 2), TolerancePct: c.TolerancePct}
		for _, o := range c.Observations {
			v := o.Value
			tc.Observations = append(tc.Observations, tradeValue(&v))
		}
		resp.Conflicts = append(resp.Conflicts, tc)
	}
	return resp, nil
}

// AgreementStats answers GetAgreementStats: one partner's counts, or every
// partner's summed, and the top partners by distinct agreements.
func (s *Service) AgreementStats(ctx context.Context, req *bilatv1.GetAgreementStatsRequest) (*bilatv1.GetAgreementStatsResponse, error) {
	vs := domain.ValidateYearRange(req.GetFromYear(), req.GetToYear())
	if req.GetTop() < 0 || req.GetTop() > 100 {
		vs = append(vs, domain.Violation{Field: "top", Description: "must be between 0 (default 10) and 100"})
	}
	if err := validate(vs); err != nil {
		return nil, err
	}
	partners, err := s.counts.PartnerCodes(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetPartner() != "" {
		if !slices.Contains(partners, req.GetPartner()) {
			return nil, fmt.Errorf("agreements of %q: %w", req.GetPartner(), ErrNotFound)
		}
		partners = []string{req.GetPartner()}
	}
	type cell struct {
		dim, val string
		year     int32
	}
	sum := map[cell]int64{}
	resp := &bilatv1.GetAgreementStatsResponse{Partner: req.GetPartner()}
	for _, p := range partners {
		st, err := s.counts.AgreementStats(ctx, p, req.GetFromYear(), req.GetToYear())
		if err != nil {
			return nil, err
		}
		for _, c := range st.Counts {
			sum[cell{c.Dimension, c.Value, c.Year}] += c.Count
		}
		resp.TotalAgreements += st.Distinct
		if st.Distinct > 0 {
			resp.TopPartners = append(resp.TopPartners, &bilatv1.PartnerCount{Partner: p, Agreements: st.Distinct})
		}
	}
	for c, n := range sum {
		resp.Counts = append(resp.Counts, &bilatv1.DimensionCount{Dimension: c.dim, Value: c.val, Year: c.year, Count: n})
	}
	slices.SortFunc(resp.Counts, func(a, b *bilatv1.DimensionCount) int {
		return cmp.Or(cmp.Compare(a.GetYear(), b.GetYear()), strings.Compare(a.GetDimension(), b.GetDimension()), strings.Compare(a.GetValue(), b.GetValue()))
	})
	slices.SortFunc(resp.TopPartners, func(a, b *bilatv1.PartnerCount) int {
		return cmp.Or(cmp.Compare(b.GetAgreements(), a.GetAgreements()), strings.Compare(a.GetPartner(), b.GetPartner()))
	})
	if top := int(cmp.Or(req.GetTop(), 10)); len(resp.TopPartners) > top {
		resp.TopPartners = resp.TopPartners[:top]
	}
	return resp, nil
}

// Rebuild drops the projections and replays the streams.
func (s *Service) Rebuild(ctx context.Context) (*bilatv1.RebuildProjectionsResponse, error) {
	if s.admin == nil {
		return nil, errors.New("rebuild is not available in this process")
	}
	return s.admin.Rebuild(ctx)
}

// Checksum digests the projections.
func (s *Service) Checksum(ctx context.Context) (*bilatv1.GetProjectionsChecksumResponse, error) {
	if s.admin == nil {
		return nil, errors.New("checksum is not available in this process")
	}
	sum, n, err := s.admin.Checksum(ctx)
	if err != nil {
		return nil, err
	}
	return &bilatv1.GetProjectionsChecksumResponse{Checksum: sum, Keys: n}, nil
}
