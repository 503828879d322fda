package ports

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/statistics/internal/app"
)

// StatisticsServer serves bilat.v1.StatisticsService.
type StatisticsServer struct {
	bilatv1.UnimplementedStatisticsServiceServer
	svc *app.Service
	log *slog.Logger
}

// NewStatisticsServer returns the gRPC handlers over svc.
func NewStatisticsServer(svc *app.Service, log *slog.Logger) *StatisticsServer {
	return &StatisticsServer{svc: svc, log: log}
}

// toStatus maps app errors: bad fields are InvalidArgument with a
// BadRequest detail, unknown partners NotFound, the rest (Redis down)
// Unavailable, which clients may retry.
func (s *StatisticsServer) toStatus(ctx context.Context, op string, err error) error {
	var ve *app.ValidationError
	switch {
	case errors.As(err, &ve):
		fvs := make([]grpcx.FieldViolation, len(ve.Violations))
		for i, v := range ve.Violations {
			fvs[i] = grpcx.FieldViolation{Field: v.Field, Description: v.Description}
		}
		return grpcx.InvalidArgument("invalid "+op+" request", fvs...)
	case errors.Is(err, app.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	}
	s.log.ErrorContext(ctx, op, "err", err)
	return status.Error(codes.Unavailable, "projections unavailable, retry later")
}

// GetAgreementCounts counts a partner's agreements by domain and year.
func (s *StatisticsServer) GetAgreementCounts(ctx context.Context, req *bilatv1.GetAgreementCountsRequest) (*bilatv1.GetAgreementCountsResponse, error) {
	resp, err := s.svc.AgreementCounts(ctx, req.GetPartner(), req.GetFromYear(), req.GetToYear())
	if err != nil {
		return nil, s.toStatus(ctx, "agreement counts", err)
	}
	return resp, nil
}

// GetAgreementStats counts agreements by domain, level, status and kind.
func (s *StatisticsServer) GetAgreementStats(ctx context.Context, req *bilatv1.GetAgreementStatsRequest) (*bilatv1.GetAgreementStatsResponse, error) {
	resp, err := s.svc.AgreementStats(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "agreement stats", err)
	}
	return resp, nil
}

// ComputeTradeBalance gives the best value of every flow per period.
func (s *StatisticsServer) ComputeTradeBalance(ctx context.Context, req *bilatv1.ComputeTradeBalanceRequest) (*bilatv1.ComputeTradeBalanceResponse, error) {
	resp, err := s.svc.TradeBalance(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "trade balance", err)
	}
	return resp, nil
}

// ComputeTradeGrowth gives growth and CAGR.
func (s *StatisticsServer) ComputeTradeGrowth(ctx context.Context, req *bilatv1.ComputeTradeGrowthRequest) (*bilatv1.ComputeTradeGrowthResponse, error) {
	resp, err := s.svc.TradeGrowth(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "trade growth", err)
	}
	return resp, nil
}

// ComputeTargetProgress gives the progress toward targets.
func (s *StatisticsServer) ComputeTargetProgress(ctx context.Context, req *bilatv1.ComputeTargetProgressRequest) (*bilatv1.ComputeTargetProgressResponse, error) {
	resp, err := s.svc.TargetProgress(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "target progress", err)
	}
	return resp, nil
}

// ComputePartnerRanking ranks partners.
func (s *StatisticsServer) ComputePartnerRanking(ctx context.Context, req *bilatv1.ComputePartnerRankingRequest) (*bilatv1.ComputePartnerRankingResponse, error) {
	resp, err := s.svc.Ranking(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "partner ranking", err)
	}
	return resp, nil
}

// ListTradeConflicts lists disagreeing sources.
func (s *StatisticsServer) ListTradeConflicts(ctx context.Context, req *bilatv1.ListTradeConflictsRequest) (*bilatv1.ListTradeConflictsResponse, error) {
	resp, err := s.svc.Conflicts(ctx, req)
	if err != nil {
		return nil, s.toStatus(ctx, "trade conflicts", err)
	}
	return resp, nil
}

// RebuildProjections drops the projections and replays BILAT_ENRICHED.
func (s *StatisticsServer) RebuildProjections(ctx context.Context, _ *bilatv1.RebuildProjectionsRequest) (*bilatv1.RebuildProjectionsResponse, error) {
	s.log.InfoContext(ctx, "rebuild requested")
	resp, err := s.svc.Rebuild(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "rebuild", err)
	}
	return resp, nil
}

// GetProjectionsChecksum digests the projections.
func (s *StatisticsServer) GetProjectionsChecksum(ctx context.Context, _ *bilatv1.GetProjectionsChecksumRequest) (*bilatv1.GetProjectionsChecksumResponse, error) {
	resp, err := s.svc.Checksum(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "checksum", err)
	}
	return resp, nil
}
