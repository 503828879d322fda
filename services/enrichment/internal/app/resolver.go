package app

import (
	"errors"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/domain"
)

// ErrNotFound is returned for an unknown entity code.
var ErrNotFound = errors.New("entity not found")

// Gazetteer answers entity look-ups for the gRPC API.
type Gazetteer struct {
	g *domain.Gazetteer
}

// NewGazetteer wraps g.
func NewGazetteer(g *domain.Gazetteer) *Gazetteer { return &Gazetteer{g: g} }

// Resolve matches a name; the entity is nil unless the name resolved.
func (s *Gazetteer) Resolve(name string) domain.Match {
	return s.g.Resolve(name)
}

// Get returns the entity with the code, or ErrNotFound.
func (s *Gazetteer) Get(code string) (*bilatv1.Entity, error) {
	e, ok := s.g.Entity(strings.TrimSpace(code))
	if !ok {
		return nil, ErrNotFound
	}
	return e, nil
}

// Details is an entity with its surroundings.
type Details struct {
	Entity, Parent  *bilatv1.Entity
	Children, Blocs []*bilatv1.Entity
	Members         []*bilatv1.Entity
}

// Details returns the entity with its parent, children, the blocs it
// belongs to and, for a bloc, its members; or ErrNotFound.
func (s *Gazetteer) Details(code string) (Details, error) {
	e, err := s.Get(code)
	if err != nil {
		return Details{}, err
	}
	d := Details{Entity: e, Children: s.g.Children(e.Code), Members: s.g.Members(e.Code)}
	d.Parent, _ = s.g.Entity(e.Parent)
	for _, m := range e.Memberships {
		if b, ok := s.g.Entity(m.GetBloc()); ok {
			d.Blocs = append(d.Blocs, b)
		}
	}
	return d, nil
}

// Search answers prefix and fuzzy queries; limit is clamped to 1..100
// (10 when unset).
func (s *Gazetteer) Search(query string, limit int, kind bilatv1.EntityKind) []domain.Candidate {
	switch {
	case limit <= 0:
		limit = 10
	case limit > 100:
		limit = 100
	}
	return s.g.Search(query, limit, kind)
}
