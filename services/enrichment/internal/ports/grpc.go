package ports

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/app"
	"bilat.dev/services/enrichment/internal/domain"
)

// GazetteerServer implements bilat.v1.GazetteerService.
type GazetteerServer struct {
	bilatv1.UnimplementedGazetteerServiceServer
	g   *app.Gazetteer
	cur *app.Curator
	svc *app.Service
}

// NewGazetteerServer serves g. Without Curation, AddAlias, ListUnresolved
// and PreviewEnrichment answer Unavailable.
func NewGazetteerServer(g *app.Gazetteer) *GazetteerServer { return &GazetteerServer{g: g} }

// Curation adds the alias, unresolved-name and preview use cases.
func (s *GazetteerServer) Curation(cur *app.Curator, svc *app.Service) *GazetteerServer {
	s.cur, s.svc = cur, svc
	return s
}

func candidates(cs []domain.Candidate) []*bilatv1.Candidate {
	out := make([]*bilatv1.Candidate, len(cs))
	for i, c := range cs {
		out[i] = &bilatv1.Candidate{Code: c.Entity.GetCode(), Name: c.Entity.GetName(), Kind: c.Entity.GetKind(), Score: float64(int64(c.Score*1000+0.5)) / 1000}
	}
	return out
}

// ResolveEntity matches a name; a name that matches nothing (or several
// entities) is an answer, not an error.
func (s *GazetteerServer) ResolveEntity(_ context.Context, req *bilatv1.ResolveEntityRequest) (*bilatv1.ResolveEntityResponse, error) {
	if strings.TrimSpace(req.GetName()) == "" {
		return nil, grpcx.InvalidArgument("invalid ResolveEntity request", grpcx.FieldViolation{Field: "name", Description: "must not be empty"})
	}
	m := s.g.Resolve(req.GetName())
	return &bilatv1.ResolveEntityResponse{
		Resolution: m.Resolution, Entity: m.Entity, MatchedAlias: m.MatchedAlias,
		Confidence: float64(int64(m.Confidence*1000+0.5)) / 1000, Candidates: candidates(m.Candidates), Method: m.Method,
	}, nil
}

// GetEntity returns the entity with the code, its parent, children, blocs
// and members.
func (s *GazetteerServer) GetEntity(_ context.Context, req *bilatv1.GetEntityRequest) (*bilatv1.GetEntityResponse, error) {
	if strings.TrimSpace(req.GetCode()) == "" {
		return nil, grpcx.InvalidArgument("invalid GetEntity request", grpcx.FieldViolation{Field: "code", Description: "must not be empty"})
	}
	d, err := s.g.Details(req.GetCode())
	if errors.Is(err, app.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no entity with code %q", req.GetCode())
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "get entity: %v", err)
	}
	return &bilatv1.GetEntityResponse{Entity: d.Entity, Parent: d.Parent, Children: d.Children, Blocs: d.Blocs, Members: d.Members}, nil
}

// SearchEntities answers prefix and fuzzy queries.
func (s *GazetteerServer) SearchEntities(_ context.Context, req *bilatv1.SearchEntitiesRequest) (*bilatv1.SearchEntitiesResponse, error) {
	if strings.TrimSpace(req.GetQuery()) == "" {
		return nil, grpcx.InvalidArgument("invalid SearchEntities request", grpcx.FieldViolation{Field: "query", Description: "must not be empty"})
	}
	if req.GetLimit() < 0 || req.GetLimit() > 100 {
		return nil, grpcx.InvalidArgument("invalid SearchEntities request", grpcx.FieldViolation{Field: "limit", Description: "must be 0..100"})
	}
	resp := &bilatv1.SearchEntitiesResponse{}
	for _, c := range s.g.Search(req.GetQuery(), int(req.GetLimit()), req.GetKind()) {
		resp.Hits = append(resp.Hits, &bilatv1.SearchHit{Entity: c.Entity, MatchedAlias: c.Alias, Score: float64(int64(c.Score*1000+0.5)) / 1000})
	}
	return resp, nil
}

// AddAlias stores an operator alias and re-enriches the events it fixes.
func (s *GazetteerServer) AddAlias(ctx context.Context, req *bilatv1.AddAliasRequest) (*bilatv1.AddAliasResponse, error) {
	if s.cur == nil {
		return nil, status.Error(codes.Unavailable, "alias curation is not configured")
	}
	var v []grpcx.FieldViolation
	if domain.Normalize(req.GetAlias()) == "" {
		v = append(v, grpcx.FieldViolation{Field: "alias", Description: "must contain letters or digits"})
	}
	if strings.TrimSpace(req.GetCode()) == "" {
		v = append(v, grpcx.FieldViolation{Field: "code", Description: "must not be empty"})
	} else if _, err := s.g.Get(req.GetCode()); err != nil {
		v = append(v, grpcx.FieldViolation{Field: "code", Description: "no entity with this code"})
	}
	if len(v) > 0 {
		return nil, grpcx.InvalidArgument("invalid AddAlias request", v...)
	}
	res, err := s.cur.AddAlias(ctx, req.GetAlias(), req.GetCode())
	if errors.Is(err, app.ErrInvalid) {
		return nil, grpcx.InvalidArgument(err.Error())
	}
	if err != nil {
		// The alias is stored and applied; re-enrichment resumes with the next alias.
		return nil, status.Errorf(codes.Unavailable, "add alias: %v", err)
	}
	return &bilatv1.AddAliasResponse{Normalized: res.Normalized, Reenriched: int32(res.Reenriched), ResolvedNames: res.ResolvedNames}, nil
}

// ListUnresolved lists the names that did not resolve, most frequent first.
func (s *GazetteerServer) ListUnresolved(ctx context.Context, req *bilatv1.ListUnresolvedRequest) (*bilatv1.ListUnresolvedResponse, error) {
	if s.cur == nil {
		return nil, status.Error(codes.Unavailable, "alias curation is not configured")
	}
	if req.GetLimit() < 0 {
		return nil, grpcx.InvalidArgument("invalid ListUnresolved request", grpcx.FieldViolation{Field: "limit", Description: "must not be negative"})
	}
	entries, err := s.cur.ListUnresolved(ctx, int(req.GetLimit()))
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "list unresolved: %v", err)
	}
	resp := &bilatv1.ListUnresolvedResponse{}
	for _, e := range entries {
		resp.Names = append(resp.Names, &bilatv1.UnresolvedName{
			Name: e.Name, Resolution: e.Resolution, Count: e.Count, Candidates: e.Candidates, Sequences: e.Sequences,
		})
	}
	return resp, nil
}

// PreviewEnrichment enriches a record without recording it.
func (s *GazetteerServer) PreviewEnrichment(_ context.Context, req *bilatv1.PreviewEnrichmentRequest) (*bilatv1.PreviewEnrichmentResponse, error) {
	if s.svc == nil {
		return nil, status.Error(codes.Unavailable, "preview is not configured")
	}
	var rec proto.Message
	switch {
	case req.GetAgreement() != nil:
		rec = req.GetAgreement()
	case req.GetTradeFigure() != nil:
		rec = req.GetTradeFigure()
	default:
		return nil, grpcx.InvalidArgument("invalid PreviewEnrichment request", grpcx.FieldViolation{Field: "item", Description: "set agreement or trade_figure"})
	}
	out, subject, err := s.svc.Preview(rec)
	if err != nil {
		return nil, grpcx.InvalidArgument(err.Error())
	}
	resp := &bilatv1.PreviewEnrichmentResponse{Subject: subject}
	switch m := out.(type) {
	case *bilatv1.AgreementRecorded:
		resp.Item = &bilatv1.PreviewEnrichmentResponse_Agreement{Agreement: m}
	case *bilatv1.TradeFigureRecorded:
		resp.Item = &bilatv1.PreviewEnrichmentResponse_TradeFigure{TradeFigure: m}
	}
	return resp, nil
}
