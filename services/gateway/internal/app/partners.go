package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

// ProfileReader is the part of the projections a partner profile reads
// (*projection.Store).
type ProfileReader interface {
	AgreementCounts(ctx context.Context, partner string, from, to int32) (*bilatv1.GetAgreementCountsResponse, error)
	PartnerCodes(ctx context.Context) ([]string, error)
	ListAgreements(ctx context.Context, f projection.AgreementFilter, pageSize int, token string) (*projection.AgreementPage, error)
}

// Partners answers PartnerService.
type Partners struct {
	g  Gazetteer
	st TradeStats
	r  ProfileReader
}

// NewPartners returns the partner use cases.
func NewPartners(g Gazetteer, st TradeStats, r ProfileReader) *Partners {
	return &Partners{g: g, st: st, r: r}
}

// SearchPartners finds entities for autocompletion through the gazetteer.
func (p *Partners) SearchPartners(ctx context.Context, q domain.SearchQuery) ([]*bilatv1.SearchHit, error) {
	if err := violationsErr(domain.ValidateSearch(q)); err != nil {
		return nil, err
	}
	resp, err := p.g.SearchEntities(ctx, &bilatv1.SearchEntitiesRequest{
		Query: q.Query, Limit: domain.SearchLimit(q.Limit), Kind: q.Kind,
	})
	if err != nil {
		return nil, fmt.Errorf("search entities %q: %w", q.Query, err)
	}
	return resp.GetHits(), nil
}

// GetPartnerProfile gathers a partner's entity, agreements and trade. The
// entity comes first (an unknown code is NotFound with suggestions); the
// agreement and trade sections are then read concurrently.
func (p *Partners) GetPartnerProfile(ctx context.Context, q domain.ProfileQuery) (*bilatv1.GetPartnerProfileResponse, error) {
	if err := violationsErr(domain.ValidateProfile(q)); err != nil {
		return nil, err
	}
	ents, err := lookUpPartners(ctx, p.g, []string{q.Partner})
	if err != nil {
		return nil, err
	}
	ent := ents[0]
	resp := &bilatv1.GetPartnerProfileResponse{
		Entity: ent.GetEntity(), Parent: ent.GetParent(), Children: ent.GetChildren(),
		Blocs: ent.GetBlocs(), Members: ent.GetMembers(),
	}
	codes := []string{q.Partner}
	if q.IncludeSubEntities {
		subs, err := p.subEntities(ctx, q.Partner)
		if err != nil {
			return nil, err
		}
		codes = append(codes, subs...)
	}

	var (
		counts     = make([]*bilatv1.GetAgreementCountsResponse, len(codes))
		agreements = make([][]*bilatv1.Agreement, len(codes))
		trade      []*bilatv1.TradePeriodStats
	)
	// One task per code for its counts, one per code for its agreements,
	// and one for the trade.
	n := 2*len(codes) + 1
	err = fanOut(ctx, fanOutLimit, n, func(ctx context.Context, i int) error {
		switch {
		case i == n-1:
			r, err := p.st.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{
				Partner: q.Partner, FromYear: q.FromYear, ToYear: q.ToYear,
			})
			if err != nil && !noFigures(err) {
				return fmt.Errorf("trade balance of %q: %w", q.Partner, err)
			}
			trade = r.GetPeriods()
		case i%2 == 0:
			c, err := p.r.AgreementCounts(ctx, codes[i/2], q.FromYear, q.ToYear)
			if err != nil {
				return fmt.Errorf("agreement counts of %q: %w", codes[i/2], err)
			}
			counts[i/2] = c
		default:
			as, err := p.allAgreements(ctx, codes[i/2], q.FromYear, q.ToYear)
			if err != nil {
				return err
			}
			agreements[i/2] = as
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	parts := make([][]*bilatv1.AgreementCount, len(codes))
	for i, c := range counts {
		parts[i] = c.GetCounts()
		// Every agreement is stored under exactly one partner, so the
		// partners' distinct totals add up without double counting.
		resp.TotalAgreements += c.GetTotalAgreements()
	}
	resp.AgreementsByDomainYear = domain.MergeCounts(parts...)
	resp.TopDomains = domain.TopDomainsOf(resp.AgreementsByDomainYear, domain.TopDomains)
	var all []*bilatv1.Agreement
	for _, as := range agreements {
		all = append(all, as...)
	}
	resp.Trade = trade
	resp.Timeline = domain.Timeline(all, trade)
	resp.FirstAgreement, resp.LatestAgreement = firstAndLatest(resp.Timeline)
	return resp, nil
}

// firstAndLatest picks the earliest and latest dated agreements of a
// timeline (which is ordered by signing date, undated last).
func firstAndLatest(tl []*bilatv1.TimelineEntry) (first, latest *bilatv1.Agreement) {
	for _, e := range tl {
		if a := e.GetAgreement(); a != nil && domain.DateScore(a.GetSignedOn()) > 0 {
			if first == nil {
				first = a
			}
			latest = a
		}
	}
	return first, latest
}

// allAgreements reads every agreement of one partner in the year range
// from the by-date index, a full page at a time.
func (p *Partners) allAgreements(ctx context.Context, code string, from, to int32) ([]*bilatv1.Agreement, error) {
	var out []*bilatv1.Agreement
	token := ""
	for {
		page, err := p.r.ListAgreements(ctx, projection.AgreementFilter{Partner: code, FromYear: from, ToYear: to},
			projection.MaxPageSize, token)
		if err != nil {
			return nil, fmt.Errorf("agreements of %q: %w", code, err)
		}
		as, err := page.Agreements()
		if err != nil {
			return nil, fmt.Errorf("agreements of %q: %w", code, err)
		}
		out = append(out, as...)
		if page.NextPageToken == "" {
			return out, nil
		}
		token = page.NextPageToken
	}
}

// subEntities lists the partners with records that lie inside code (its
// regions, their cities, ...). Candidates come from the projection's
// partner index narrowed by the code scheme; the gazetteer confirms each by
// walking its parents up to code, so a look-alike code never counts.
func (p *Partners) subEntities(ctx context.Context, code string) ([]string, error) {
	all, err := p.r.PartnerCodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("partner index: %w", err)
	}
	var cands []string
	for _, c := range all {
		if domain.MaybeSubEntity(code, c) {
			cands = append(cands, c)
		}
	}
	var (
		mu      sync.Mutex
		parents = map[string]string{}
	)
	parentOf := func(ctx context.Context, c string) (string, error) {
		mu.Lock()
		par, ok := parents[c]
		mu.Unlock()
		if ok {
			return par, nil
		}
		e, err := p.g.GetEntity(ctx, c)
		if errors.Is(err, ErrNotFound) {
			// A code with records the gazetteer no longer has: no parent.
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("gazetteer entity %q: %w", c, err)
		}
		mu.Lock()
		parents[c] = e.GetEntity().GetParent()
		mu.Unlock()
		return e.GetEntity().GetParent(), nil
	}
	inside := make([]bool, len(cands))
	err = fanOut(ctx, fanOutLimit, len(cands), func(ctx context.Context, i int) error {
		c := cands[i]
		for depth := 0; c != "" && depth < 8; depth++ {
			par, err := parentOf(ctx, c)
			if err != nil {
				return err
			}
			if par == code {
				inside[i] = true
				return nil
			}
			c = par
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for i, c := range cands {
		if inside[i] {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out, nil
}
