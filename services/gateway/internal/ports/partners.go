package ports

import (
	"context"
	"log/slog"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/domain"
)

// PartnerServer serves bilat.v1.PartnerService.
type PartnerServer struct {
	bilatv1.UnimplementedPartnerServiceServer
	p   *app.Partners
	log *slog.Logger
}

// NewPartnerServer returns the handlers over p.
func NewPartnerServer(p *app.Partners, log *slog.Logger) *PartnerServer {
	return &PartnerServer{p: p, log: log}
}

// GetPartnerProfile returns a partner's entity, agreements, trade and timeline.
func (s *PartnerServer) GetPartnerProfile(ctx context.Context, req *bilatv1.GetPartnerProfileRequest) (*bilatv1.GetPartnerProfileResponse, error) {
	resp, err := s.p.GetPartnerProfile(ctx, domain.ProfileQuery{
		Partner: req.GetPartner(), IncludeSubEntities: req.GetIncludeSubEntities(),
		FromYear: req.GetFromYear(), ToYear: req.GetToYear(),
	})
	if err != nil {
		return nil, upstreamStatus(ctx, s.log, "GetPartnerProfile", err)
	}
	return resp, nil
}

// SearchPartners finds entities by prefix or misspelt name.
func (s *PartnerServer) SearchPartners(ctx context.Context, req *bilatv1.SearchPartnersRequest) (*bilatv1.SearchPartnersResponse, error) {
	hits, err := s.p.SearchPartners(ctx, domain.SearchQuery{Query: req.GetQuery(), Limit: req.GetLimit(), Kind: req.GetKind()})
	if err != nil {
		return nil, upstreamStatus(ctx, s.log, "SearchPartners", err)
	}
	return &bilatv1.SearchPartnersResponse{Hits: hits}, nil
}
