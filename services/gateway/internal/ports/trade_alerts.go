package ports

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/domain"
)

// WithAlerts makes WatchTradeAlerts answer through a; the streams end (with
// Unavailable, so clients resume from their last position) when shutdown
// ends — pass the context whose end stops the server.
func (s *TradeServer) WithAlerts(shutdown context.Context, a *app.Alerts) *TradeServer {
	s.alerts, s.shutdown = a, shutdown
	return s
}

// WatchTradeAlerts streams an alert for each newly recorded figure that
// moves a partner's year-on-year change beyond the threshold. It runs until
// the client goes away or the server shuts down.
func (s *TradeServer) WatchTradeAlerts(req *bilatv1.WatchTradeAlertsRequest, stream grpc.ServerStreamingServer[bilatv1.WatchTradeAlertsResponse]) error {
	if s.alerts == nil {
		return status.Error(codes.Unavailable, "trade alerts not configured")
	}
	err := untilShutdown(s.shutdown, stream.Context(), func(ctx context.Context) error {
		return s.alerts.WatchTradeAlerts(ctx, domain.AlertQuery{
			Partners: req.GetPartners(), Reporter: req.GetReporter(), Flow: req.GetFlow(),
			ThresholdPct: req.GetThresholdPct(), AfterPosition: req.GetAfterPosition(), Start: req.GetStart(),
		}, stream.Send)
	})
	if err == nil || status.Code(err) == codes.Unavailable {
		return err
	}
	return upstreamStatus(stream.Context(), s.log, "WatchTradeAlerts", err)
}
