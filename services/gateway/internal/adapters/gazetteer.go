package adapters

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/app"
)

// Gazetteer asks enrichment's GazetteerService for entities. The client is
// dialled by the caller (grpcx.Dial, so TLS and the caller's authorization
// go along).
type Gazetteer struct {
	client bilatv1.GazetteerServiceClient
}

// NewGazetteer returns the gateway's view of the gazetteer over client.
func NewGazetteer(client bilatv1.GazetteerServiceClient) *Gazetteer {
	return &Gazetteer{client: client}
}

// GetEntity returns an entity with its parent, children, blocs and
// members; an unknown code gives an error matching app.ErrNotFound.
func (g *Gazetteer) GetEntity(ctx context.Context, code string) (*bilatv1.GetEntityResponse, error) {
	resp, err := g.client.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: code})
	if status.Code(err) == codes.NotFound {
		return nil, fmt.Errorf("entity %q: %w", code, app.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("gazetteer GetEntity %q: %w", code, err)
	}
	return resp, nil
}

// SearchEntities answers prefix and fuzzy queries.
func (g *Gazetteer) SearchEntities(ctx context.Context, req *bilatv1.SearchEntitiesRequest) (*bilatv1.SearchEntitiesResponse, error) {
	resp, err := g.client.SearchEntities(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("gazetteer SearchEntities %q: %w", req.GetQuery(), err)
	}
	return resp, nil
}
