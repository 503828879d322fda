// Package ports exposes ingest's use case through its two doors: the gRPC
// IngestService and the JetStream consumer of bilat.ingest.>.
package ports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/services/ingest/internal/app"
	"bilat.dev/services/ingest/internal/domain"
)

// MaxRejections bounds the rejections an Import answer lists; the count
// goes on beyond it.
const MaxRejections = 1000

// IngestServer implements bilat.v1.IngestService.
type IngestServer struct {
	bilatv1.UnimplementedIngestServiceServer
	svc *app.Service
	log *slog.Logger
}

// NewIngestServer returns the gRPC door on svc.
func NewIngestServer(svc *app.Service, log *slog.Logger) *IngestServer {
	return &IngestServer{svc: svc, log: log}
}

// SubmitAgreement records one agreement.
func (s *IngestServer) SubmitAgreement(ctx context.Context, req *bilatv1.SubmitAgreementRequest) (*bilatv1.SubmitAgreementResponse, error) {
	res, err := s.svc.SubmitAgreement(ctx, req.GetAgreement(), "agreement", grpcMeta(ctx, req.GetIdempotencyKey()))
	observe("grpc", domain.TypeAgreement, res, err)
	if err != nil {
		return nil, toStatus(ctx, domain.TypeAgreement, err)
	}
	return &bilatv1.SubmitAgreementResponse{Result: submitResult(res)}, nil
}

// SubmitTradeFigure records one trade figure.
func (s *IngestServer) SubmitTradeFigure(ctx context.Context, req *bilatv1.SubmitTradeFigureRequest) (*bilatv1.SubmitTradeFigureResponse, error) {
	res, err := s.svc.SubmitTradeFigure(ctx, req.GetFigure(), "figure", grpcMeta(ctx, req.GetIdempotencyKey()))
	observe("grpc", domain.TypeTradeFigure, res, err)
	if err != nil {
		return nil, toStatus(ctx, "trade figure", err)
	}
	return &bilatv1.SubmitTradeFigureResponse{Result: submitResult(res)}, nil
}

// RetractAgreement records the withdrawal of an agreement.
func (s *IngestServer) RetractAgreement(ctx context.Context, req *bilatv1.RetractAgreementRequest) (*bilatv1.RetractAgreementResponse, error) {
	res, err := s.svc.RetractAgreement(ctx, req.GetAgreementId(), req.GetReason(), grpcMeta(ctx, req.GetIdempotencyKey()))
	observe("grpc", domain.TypeAgreementRetraction, res, err)
	if err != nil {
		return nil, toStatus(ctx, "agreement retraction", err)
	}
	return &bilatv1.RetractAgreementResponse{Result: submitResult(res)}, nil
}

// RetractTradeFigure records the withdrawal of a trade figure.
func (s *IngestServer) RetractTradeFigure(ctx context.Context, req *bilatv1.RetractTradeFigureRequest) (*bilatv1.RetractTradeFigureResponse, error) {
	res, err := s.svc.RetractTradeFigure(ctx, req.GetFigureId(), req.GetReason(), grpcMeta(ctx, req.GetIdempotencyKey()))
	observe("grpc", domain.TypeTradeFigureRetraction, res, err)
	if err != nil {
		return nil, toStatus(ctx, "trade figure retraction", err)
	}
	return &bilatv1.RetractTradeFigureResponse{Result: submitResult(res)}, nil
}

// Import records each item as it arrives; nothing is buffered, so the
// stream may be arbitrarily long. Invalid items are rejected one by one.
// A failure to record (NATS down) ends the call: the items before it are
// durable and a retried import skips them as duplicates.
func (s *IngestServer) Import(stream bilatv1.IngestService_ImportServer) error {
	ctx := stream.Context()
	resp := &bilatv1.ImportResponse{}
	for index := int64(0); ; index++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			s.log.Info("import done", "accepted", resp.Accepted, "duplicates", resp.Duplicates, "rejected", resp.Rejected)
			return stream.SendAndClose(resp)
		}
		if err != nil {
			return err
		}
		meta := grpcMeta(ctx, req.GetIdempotencyKey())
		var (
			res        app.Result
			recordType string
		)
		switch item := req.GetItem().(type) {
		case *bilatv1.ImportRequest_Agreement:
			recordType = domain.TypeAgreement
			res, err = s.svc.SubmitAgreement(ctx, item.Agreement, "agreement", meta)
		case *bilatv1.ImportRequest_TradeFigure:
			recordType = domain.TypeTradeFigure
			res, err = s.svc.SubmitTradeFigure(ctx, item.TradeFigure, "trade_figure", meta)
		default:
			resp.Rejected++
			addRejection(resp, &bilatv1.Rejection{
				Index:       index,
				Reason:      "no item: set agreement or trade_figure",
				FieldErrors: []*bilatv1.FieldError{{Field: "item", Description: "required: set agreement or trade_figure"}},
			})
			metricSubmissions.WithLabelValues("import", "none", "rejected").Inc()
			continue
		}
		observe("import", recordType, res, err)
		if v, ok := app.IsValidation(err); ok {
			resp.Rejected++
			addRejection(resp, rejection(index, v))
			continue
		}
		if err != nil {
			st := status.Convert(toStatus(ctx, strings.ReplaceAll(recordType, "_", " "), err))
			return status.Errorf(st.Code(), "import item %d: %s (before it: %d accepted, %d duplicates, %d rejected)",
				index, st.Message(), resp.Accepted, resp.Duplicates, resp.Rejected)
		}
		if res.Duplicate {
			resp.Duplicates++
		} else {
			resp.Accepted++
		}
	}
}

func addRejection(resp *bilatv1.ImportResponse, r *bilatv1.Rejection) {
	if len(resp.Rejections) < MaxRejections {
		resp.Rejections = append(resp.Rejections, r)
	}
}

func rejection(index int64, v *app.ValidationError) *bilatv1.Rejection {
	r := &bilatv1.Rejection{Index: index, Reason: v.Error()}
	for _, fv := range v.Violations {
		r.FieldErrors = append(r.FieldErrors, &bilatv1.FieldError{Field: fv.Field, Description: fv.Description})
	}
	return r
}

func submitResult(r app.Result) *bilatv1.SubmitResult {
	return &bilatv1.SubmitResult{EventId: r.EventID, RecordId: r.RecordID, Duplicate: r.Duplicate}
}

// grpcMeta collects the envelope facts a gRPC call carries: the peer and
// the W3C trace context from metadata.
func grpcMeta(ctx context.Context, key string) app.Meta {
	m := app.Meta{IdempotencyKey: key, KeyField: "idempotency_key", Source: "grpc"}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		m.Source = "grpc:" + p.Addr.String()
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		m.Traceparent = first(md.Get(natsx.HeaderTraceparent))
		m.Tracestate = first(md.Get(natsx.HeaderTracestate))
	}
	return m
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// toStatus maps a use-case error to a gRPC status: violations are the
// caller's to fix, the caller's own cancellation is reported as such, and
// anything else means the event store is not reachable right now.
func toStatus(ctx context.Context, what string, err error) error {
	if v, ok := app.IsValidation(err); ok {
		fvs := make([]grpcx.FieldViolation, len(v.Violations))
		for i, x := range v.Violations {
			fvs[i] = grpcx.FieldViolation{Field: x.Field, Description: x.Description}
		}
		return grpcx.InvalidArgument("invalid "+what, fvs...)
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Error(codes.Unavailable, fmt.Sprintf("%s not recorded, retry later: %v", what, err))
}
