package ports

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/domain"
)

// AgreementServer serves bilat.v1.AgreementService.
type AgreementServer struct {
	bilatv1.UnimplementedAgreementServiceServer
	svc   *app.Service
	log   *slog.Logger
	watch *app.AgreementWatch
	// shutdown ends every watch when the server stops, so a graceful stop
	// does not wait for subscriptions that never end by themselves.
	shutdown context.Context
}

// NewAgreementServer returns the handlers over svc. WatchAgreements needs
// WithWatch.
func NewAgreementServer(svc *app.Service, log *slog.Logger) *AgreementServer {
	return &AgreementServer{svc: svc, log: log, shutdown: context.Background()}
}

// WithWatch makes WatchAgreements answer through w; the watches end (with
// Unavailable, so clients resume from their last position elsewhere) when
// shutdown ends — pass the context whose end stops the server.
func (s *AgreementServer) WithWatch(shutdown context.Context, w *app.AgreementWatch) *AgreementServer {
	s.watch, s.shutdown = w, shutdown
	return s
}

// agreementStatus adds the agreement-specific errors to toStatus.
func agreementStatus(ctx context.Context, log *slog.Logger, op string, err error) error {
	switch {
	case errors.Is(err, app.ErrOutOfRange):
		return status.Error(codes.OutOfRange, err.Error())
	case errors.Is(err, app.ErrNoGazetteer):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	return toStatus(ctx, log, op, err)
}

// GetAgreement returns the current version of one agreement.
func (s *AgreementServer) GetAgreement(ctx context.Context, req *bilatv1.GetAgreementRequest) (*bilatv1.GetAgreementResponse, error) {
	a, err := s.svc.GetAgreement(ctx, req.GetId())
	if err != nil {
		return nil, toStatus(ctx, s.log, "GetAgreement", err)
	}
	return withEncoded(&bilatv1.GetAgreementResponse{}, "agreement", a), nil
}

// ListAgreements lists the agreements matching a filter, a page at a time.
func (s *AgreementServer) ListAgreements(ctx context.Context, req *bilatv1.ListAgreementsRequest) (*bilatv1.ListAgreementsResponse, error) {
	page, err := s.svc.Agreements().ListAgreements(ctx, domain.ListAgreementsQuery{
		Filter: req.GetFilter(), Order: req.GetOrderBy(), PageSize: req.GetPageSize(),
	}, req.GetPageToken())
	if err != nil {
		return nil, agreementStatus(ctx, s.log, "ListAgreements", err)
	}
	return withEncoded(&bilatv1.ListAgreementsResponse{NextPageToken: page.NextPageToken, TotalSize: page.TotalSize},
		"agreements", page.Wire...), nil
}

// ListRevisions returns every recorded version of one agreement.
func (s *AgreementServer) ListRevisions(ctx context.Context, req *bilatv1.ListRevisionsRequest) (*bilatv1.ListRevisionsResponse, error) {
	revs, err := s.svc.Agreements().ListRevisions(ctx, req.GetId())
	if err != nil {
		return nil, agreementStatus(ctx, s.log, "ListRevisions", err)
	}
	return &bilatv1.ListRevisionsResponse{Id: req.GetId(), Revisions: revs}, nil
}

// WatchAgreements streams the agreement changes matching a filter until
// the client goes away or the server shuts down.
func (s *AgreementServer) WatchAgreements(req *bilatv1.WatchAgreementsRequest, stream grpc.ServerStreamingServer[bilatv1.WatchAgreementsResponse]) error {
	if s.watch == nil {
		return status.Error(codes.Unavailable, "agreement watch not configured")
	}
	err := untilShutdown(s.shutdown, stream.Context(), func(ctx context.Context) error {
		return s.watch.Watch(ctx, app.WatchQuery{
			Filter: req.GetFilter(), AfterPosition: req.GetAfterPosition(), Start: req.GetStart(),
		}, stream.Send)
	})
	if err == nil || status.Code(err) == codes.Unavailable {
		return err
	}
	return agreementStatus(stream.Context(), s.log, "WatchAgreements", err)
}

// untilShutdown runs a subscription until the client leaves or shutdown
// ends; a subscription ended by shutdown gives Unavailable, so the client
// reconnects (to this or another replica) and resumes from its last position.
func untilShutdown(shutdown, streamCtx context.Context, watch func(context.Context) error) error {
	ctx, cancel := context.WithCancel(streamCtx)
	defer cancel()
	stop := context.AfterFunc(shutdown, cancel)
	defer stop()
	err := watch(ctx)
	if err != nil && shutdown.Err() != nil && streamCtx.Err() == nil {
		return status.Error(codes.Unavailable, "gateway shutting down; resume with after_position set to the last position received")
	}
	return err
}
