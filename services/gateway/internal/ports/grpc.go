// Package ports serves the gateway's public gRPC API.
package ports

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/domain"
)

// toStatus maps app errors to gRPC statuses; unexpected ones (Redis down)
// are logged and answered Unavailable, which clients may retry.
func toStatus(ctx context.Context, log *slog.Logger, op string, err error) error {
	var ve *app.ValidationError
	switch {
	case errors.As(err, &ve):
		fvs := make([]grpcx.FieldViolation, len(ve.Violations))
		for i, v := range ve.Violations {
			fvs[i] = grpcx.FieldViolation{Field: v.Field, Description: v.Description}
		}
		return grpcx.InvalidArgument("invalid "+op+" request", fvs...)
	case errors.Is(err, app.ErrInvalidPageToken):
		return grpcx.InvalidArgument("invalid "+op+" request", grpcx.FieldViolation{
			Field: "page_token", Description: "must be a next_page_token returned for the same filters",
		})
	case errors.Is(err, app.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	}
	log.ErrorContext(ctx, op, "err", err)
	return status.Error(codes.Unavailable, "projections unavailable, retry later")
}

// AgreementServer is in agreements.go.

// TradeServer serves bilat.v1.TradeService.
type TradeServer struct {
	bilatv1.UnimplementedTradeServiceServer
	svc   *app.Service
	log   *slog.Logger
	stats Statistics
	// compare and alerts answer CompareTrade and WatchTradeAlerts
	// (trade_compare.go, trade_alerts.go); nil: Unavailable.
	compare *app.Compare
	alerts  *app.Alerts
	// shutdown ends every alert stream when the server stops (WithAlerts).
	shutdown context.Context
}

// NewTradeServer returns the handlers over svc.
func NewTradeServer(svc *app.Service, log *slog.Logger) *TradeServer {
	return &TradeServer{svc: svc, log: log, shutdown: context.Background()}
}

// GetTradeSeries returns a partner's trade figures ordered by period and flow.
func (s *TradeServer) GetTradeSeries(ctx context.Context, req *bilatv1.GetTradeSeriesRequest) (*bilatv1.GetTradeSeriesResponse, error) {
	points, err := s.svc.GetTradeSeries(ctx, domain.TradeQuery{
		Partner: req.GetPartner(), Reporter: req.GetReporter(), Flow: req.GetFlow(),
		FromYear: req.GetFromYear(), ToYear: req.GetToYear(),
	})
	if err != nil {
		return nil, toStatus(ctx, s.log, "GetTradeSeries", err)
	}
	resp := &bilatv1.GetTradeSeriesResponse{Partner: req.GetPartner(), Points: make([]*bilatv1.TradePoint, len(points))}
	for i, p := range points {
		resp.Points[i] = withEncoded(p.Point, "figures", p.Figures...)
	}
	return resp, nil
}
