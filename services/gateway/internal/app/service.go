// Package app is the gateway's read use cases over the projections.
package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

var (
	// ErrNotFound means no record has the requested id.
	ErrNotFound = errors.New("not found")
	// ErrInvalidPageToken means the page token is malformed, altered, or
	// was issued for other filters.
	ErrInvalidPageToken = errors.New("invalid page token")
)

// ValidationError lists the bad fields of a request.
type ValidationError struct{ Violations []domain.Violation }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// Reader is the read model (pkg/projection's Store over Redis).
type Reader interface {
	GetAgreementWire(ctx context.Context, id string) ([]byte, error)
	GetTradeSeriesWire(ctx context.Context, f projection.TradeFilter) ([]projection.WirePoint, error)
	AgreementReader
}

// Service answers the public read API.
type Service struct {
	r   Reader
	agr *Agreements
}

// New returns the service over r. Bloc filters of ListAgreements need
// WithGazetteer.
func New(r Reader) *Service { return &Service{r: r, agr: NewAgreements(r, nil)} }

// WithGazetteer gives ListAgreements and WatchAgreements enrichment's
// GazetteerService, where blocs' members and their dated memberships come
// from.
func (s *Service) WithGazetteer(g bilatv1.GazetteerServiceClient) *Service {
	s.agr = NewAgreements(s.r, g)
	return s
}

// Agreements is the agreement listing, history and watch use cases.
func (s *Service) Agreements() *Agreements { return s.agr }

// GetAgreement returns the current version of an agreement in its wire
// encoding (a bilat.v1.Agreement, projection.GetAgreementWire), which the
// API forwards without decoding it.
func (s *Service) GetAgreement(ctx context.Context, id string) ([]byte, error) {
	if vs := domain.ValidateGet(id); len(vs) > 0 {
		return nil, &ValidationError{vs}
	}
	a, err := s.r.GetAgreementWire(ctx, id)
	if errors.Is(err, projection.ErrNotFound) {
		return nil, fmt.Errorf("agreement %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get agreement %q: %w", id, err)
	}
	return a, nil
}

// GetTradeSeries returns a partner's trade figures by period and flow, the
// figures in their wire encoding (projection.GetTradeSeriesWire), which the
// API forwards without decoding them.
func (s *Service) GetTradeSeries(ctx context.Context, q domain.TradeQuery) ([]projection.WirePoint, error) {
	if vs := domain.ValidateTrade(q); len(vs) > 0 {
		return nil, &ValidationError{vs}
	}
	points, err := s.r.GetTradeSeriesWire(ctx, projection.TradeFilter{
		Partner: q.Partner, Reporter: q.Reporter, Flow: q.Flow, FromYear: q.FromYear, ToYear: q.ToYear,
	})
	if err != nil {
		return nil, fmt.Errorf("trade series of %q: %w", q.Partner, err)
	}
	return points, nil
}
