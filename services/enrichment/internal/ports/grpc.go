package ports

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/app"
)

// GazetteerServer implements bilat.v1.GazetteerService.
type GazetteerServer struct {
	bilatv1.UnimplementedGazetteerServiceServer
	g *app.Gazetteer
}

// NewGazetteerServer serves g.
func NewGazetteerServer(g *app.Gazetteer) *GazetteerServer { return &GazetteerServer{g: g} }

// ResolveEntity matches a name; a name that matches nothing (or several
// entities) is an answer, not an error.
func (s *GazetteerServer) ResolveEntity(_ context.Context, req *bilatv1.ResolveEntityRequest) (*bilatv1.ResolveEntityResponse, error) {
	if strings.TrimSpace(req.GetName()) == "" {
		return nil, grpcx.InvalidArgument("invalid ResolveEntity request", grpcx.FieldViolation{Field: "name", Description: "must not be empty"})
	}
	m := s.g.Resolve(req.GetName())
	return &bilatv1.ResolveEntityResponse{Resolution: m.Resolution, Entity: m.Entity, MatchedAlias: m.MatchedAlias}, nil
}

// GetEntity returns the entity with the code.
func (s *GazetteerServer) GetEntity(_ context.Context, req *bilatv1.GetEntityRequest) (*bilatv1.GetEntityResponse, error) {
	if strings.TrimSpace(req.GetCode()) == "" {
		return nil, grpcx.InvalidArgument("invalid GetEntity request", grpcx.FieldViolation{Field: "code", Description: "must not be empty"})
	}
	e, err := s.g.Get(req.GetCode())
	if errors.Is(err, app.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no entity with code %q", req.GetCode())
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "get entity: %v", err)
	}
	return &bilatv1.GetEntityResponse{Entity: e}, nil
}
