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

// GetAgreementCounts counts a partner's agreements by domain and year.
func (s *StatisticsServer) GetAgreementCounts(ctx context.Context, req *bilatv1.GetAgreementCountsRequest) (*bilatv1.GetAgreementCountsResponse, error) {
	resp, err := s.svc.AgreementCounts(ctx, req.GetPartner(), req.GetFromYear(), req.GetToYear())
	var ve *app.ValidationError
	switch {
	case errors.As(err, &ve):
		fvs := make([]grpcx.FieldViolation, len(ve.Violations))
		for i, v := range ve.Violations {
			fvs[i] = grpcx.FieldViolation{Field: v.Field, Description: v.Description}
		}
		return nil, grpcx.InvalidArgument("invalid agreement counts request", fvs...)
	case err != nil:
		s.log.ErrorContext(ctx, "agreement counts", "partner", req.GetPartner(), "err", err)
		return nil, status.Error(codes.Unavailable, "projections unavailable, retry later")
	}
	return resp, nil
}
