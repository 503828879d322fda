package ports

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/domain"
)

// WithCompare makes CompareTrade answer through c.
func (s *TradeServer) WithCompare(c *app.Compare) *TradeServer {
	s.compare = c
	return s
}

// CompareTrade puts several partners' trade side by side.
func (s *TradeServer) CompareTrade(ctx context.Context, req *bilatv1.CompareTradeRequest) (*bilatv1.CompareTradeResponse, error) {
	if s.compare == nil {
		return nil, status.Error(codes.Unavailable, "trade comparison not configured")
	}
	resp, err := s.compare.CompareTrade(ctx, domain.CompareQuery{
		Partners: req.GetPartners(), Reporter: req.GetReporter(),
		FromYear: req.GetFromYear(), ToYear: req.GetToYear(), Flow: req.GetFlow(),
	})
	if err != nil {
		return nil, upstreamStatus(ctx, s.log, "CompareTrade", err)
	}
	return resp, nil
}

// upstreamStatus maps the errors of the RPCs that ask other services
// (StatisticsService, GazetteerService) or the event stream: the gateway's
// own validation and NotFound as toStatus does; a downstream
// InvalidArgument or NotFound passes unchanged, with its details; an ended
// deadline or cancellation stays what it is; an expired watch position is
// OutOfRange; anything else is logged and Unavailable, which clients may
// retry.
func upstreamStatus(ctx context.Context, log *slog.Logger, op string, err error) error {
	var ve *app.ValidationError
	switch {
	case errors.As(err, &ve), errors.Is(err, app.ErrNotFound):
		return toStatus(ctx, log, op, err)
	case errors.Is(err, natsx.ErrPositionExpired):
		return status.Error(codes.OutOfRange, "after_position is no longer held by the event stream; start again with start=WATCH_START_BEGINNING or NOW")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, op+": deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, op+": canceled")
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.InvalidArgument, codes.NotFound, codes.DeadlineExceeded, codes.Canceled:
			return st.Err()
		}
	}
	log.ErrorContext(ctx, op, "err", err)
	return status.Error(codes.Unavailable, op+": a backing service is unavailable, retry later")
}
