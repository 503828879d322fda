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

// importBatch bounds how many received items Import records together.
const importBatch = 64

// Import records the items as they arrive: the items already received
// (up to importBatch) are recorded together (app.Service.SubmitBatch,
// which keeps their order in the stream), so only that much is buffered
// and the stream may be arbitrarily long. Invalid items are rejected one
// by one. A failure to record (NATS down) ends the call: the items before
// it are durable and a retried import skips them as duplicates.
func (s *IngestServer) Import(stream bilatv1.IngestService_ImportServer) error {
	ctx := stream.Context()
	reqs := make(chan *bilatv1.ImportRequest, importBatch)
	recvErr := make(chan error, 1)
	go func() {
		defer close(reqs)
		for {
			req, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				recvErr <- ctx.Err()
				return
			}
		}
	}()
	resp := &bilatv1.ImportResponse{}
	var index int64
	for req := range reqs {
		batch := []*bilatv1.ImportRequest{req}
	drain:
		for len(batch) < importBatch {
			select {
			case r, ok := <-reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if err := s.importItems(ctx, batch, index, resp); err != nil {
			return err
		}
		index += int64(len(batch))
	}
	if err := <-recvErr; !errors.Is(err, io.EOF) {
		return err
	}
	s.log.Info("import done", "accepted", resp.Accepted, "duplicates", resp.Duplicates, "rejected", resp.Rejected)
	return stream.SendAndClose(resp)
}

// importItems records items (the first at index) and counts them in resp.
func (s *IngestServer) importItems(ctx context.Context, items []*bilatv1.ImportRequest, index int64, resp *bilatv1.ImportResponse) error {
	subs := make([]app.Submission, len(items))
	for i, req := range items {
		meta := grpcMeta(ctx, req.GetIdempotencyKey())
		switch item := req.GetItem().(type) {
		case *bilatv1.ImportRequest_Agreement:
			subs[i] = app.Submission{Agreement: item.Agreement, Root: "agreement", Meta: meta}
		case *bilatv1.ImportRequest_TradeFigure:
			subs[i] = app.Submission{Figure: item.TradeFigure, Root: "trade_figure", Meta: meta}
		}
	}
	var valid []app.Submission
	var at []int
	for i, sub := range subs {
		if sub.Agreement != nil || sub.Figure != nil {
			valid, at = append(valid, sub), append(at, i)
		}
	}
	results, errs := s.svc.SubmitBatch(ctx, valid)
	n := 0
	for i, sub := range subs {
		idx := index + int64(i)
		if sub.Agreement == nil && sub.Figure == nil {
			resp.Rejected++
			addRejection(resp, &bilatv1.Rejection{
				Index:       idx,
				Reason:      "no item: set agreement or trade_figure",
				FieldErrors: []*bilatv1.FieldError{{Field: "item", Description: "required: set agreement or trade_figure"}},
			})
			metricSubmissions.WithLabelValues("import", "none", "rejected").Inc()
			continue
		}
		res, err := results[n], errs[n]
		n++
		recordType := domain.TypeAgreement
		if sub.Figure != nil {
			recordType = domain.TypeTradeFigure
		}
		observe("import", recordType, res, err)
		if v, ok := app.IsValidation(err); ok {
			resp.Rejected++
			addRejection(resp, rejection(idx, v))
			continue
		}
		if err != nil {
			st := status.Convert(toStatus(ctx, strings.ReplaceAll(recordType, "_", " "), err))
			return status.Errorf(st.Code(), "import item %d: %s (before it: %d accepted, %d duplicates, %d rejected)",
				idx, st.Message(), resp.Accepted, resp.Duplicates, resp.Rejected)
		}
		if res.Duplicate {
			resp.Duplicates++
		} else {
			resp.Accepted++
		}
	}
	return nil
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
