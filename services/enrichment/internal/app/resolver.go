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
