// Package app is the statistics use cases: project an enriched event into
// the read model, and answer counts over it.
package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/statistics/internal/domain"
)

// ErrPermanent marks messages no retry can project (unknown subject,
// undecodable body, event without id or sequence); callers dead-letter them.
var ErrPermanent = errors.New("permanent failure")

// Projector applies events to the read model atomically and idempotently.
type Projector interface {
	ApplyAgreement(ctx context.Context, ev *bilatv1.AgreementRecorded) (projection.Outcome, error)
	ApplyTradeFigure(ctx context.Context, ev *bilatv1.TradeFigureRecorded) (projection.Outcome, error)
	ApplyAgreementRetraction(ctx context.Context, ev *bilatv1.AgreementRetracted) (projection.Outcome, error)
	ApplyTradeRetraction(ctx context.Context, ev *bilatv1.TradeFigureRetracted) (projection.Outcome, error)
}

// CountsReader reads the read model: agreement counts and trade observations.
type CountsReader interface {
	AgreementCounts(ctx context.Context, partner string, from, to int32) (*bilatv1.GetAgreementCountsResponse, error)
	AgreementStats(ctx context.Context, partner string, from, to int32) (*projection.PartnerStats, error)
	PartnerCodes(ctx context.Context) ([]string, error)
	GetTradeSeries(ctx context.Context, f projection.TradeFilter) ([]*bilatv1.TradePoint, error)
}

// Message is one enriched event as read from BILAT_ENRICHED.
type Message struct {
	Subject string
	Data    []byte
	// EventType is the Bilat-Event-Type header; empty when absent.
	EventType string
}

// Result says what projecting one message did.
type Result struct {
	Kind     domain.Kind
	EventID  string
	RecordID string
	Outcome  projection.Outcome
}

// ValidationError lists the bad fields of a query.
type ValidationError struct{ Violations []domain.Violation }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid query: " + strings.Join(parts, "; ")
}

// Service is the statistics use cases.
type Service struct {
	proj   Projector
	counts CountsReader
	gaz    *domain.Gazetteer
	admin  Admin
}

// New returns the service.
func New(proj Projector, counts CountsReader) *Service {
	return &Service{proj: proj, counts: counts}
}

// Project decodes an enriched event and applies it. It returns only after
// the read model holds the effect (or already held it), so the caller may
// ack; errors wrapping ErrPermanent must not be retried.
func (s *Service) Project(ctx context.Context, m Message) (Result, error) {
	kind := domain.KindOf(m.Subject)
	if kind == domain.KindUnknown {
		return Result{}, fmt.Errorf("%w: subject %q is not an enriched event", ErrPermanent, m.Subject)
	}
	if m.EventType != "" && m.EventType != kind.EventType() {
		return Result{}, fmt.Errorf("%w: event type %q on subject %q", ErrPermanent, m.EventType, m.Subject)
	}
	res := Result{Kind: kind}
	var err error
	switch kind {
	case domain.KindAgreement:
		ev := &bilatv1.AgreementRecorded{}
		if uerr := proto.Unmarshal(m.Data, ev); uerr != nil {
			return res, fmt.Errorf("%w: decode %s: %v", ErrPermanent, kind.EventType(), uerr)
		}
		res.EventID, res.RecordID = ev.GetEnvelope().GetEventId(), ev.GetAgreement().GetId()
		res.Outcome, err = s.proj.ApplyAgreement(ctx, ev)
	case domain.KindTradeFigure:
		ev := &bilatv1.TradeFigureRecorded{}
		if uerr := proto.Unmarshal(m.Data, ev); uerr != nil {
			return res, fmt.Errorf("%w: decode %s: %v", ErrPermanent, kind.EventType(), uerr)
		}
		res.EventID, res.RecordID = ev.GetEnvelope().GetEventId(), ev.GetFigure().GetId()
		res.Outcome, err = s.proj.ApplyTradeFigure(ctx, ev)
	case domain.KindAgreementRetraction:
		ev := &bilatv1.AgreementRetracted{}
		if uerr := proto.Unmarshal(m.Data, ev); uerr != nil {
			return res, fmt.Errorf("%w: decode %s: %v", ErrPermanent, kind.EventType(), uerr)
		}
		res.EventID, res.RecordID = ev.GetEnvelope().GetEventId(), ev.GetAgreementId()
		res.Outcome, err = s.proj.ApplyAgreementRetraction(ctx, ev)
	case domain.KindTradeRetraction:
		ev := &bilatv1.TradeFigureRetracted{}
		if uerr := proto.Unmarshal(m.Data, ev); uerr != nil {
			return res, fmt.Errorf("%w: decode %s: %v", ErrPermanent, kind.EventType(), uerr)
		}
		res.EventID, res.RecordID = ev.GetEnvelope().GetEventId(), ev.GetFigureId()
		res.Outcome, err = s.proj.ApplyTradeRetraction(ctx, ev)
	}
	if errors.Is(err, projection.ErrInvalidEvent) {
		return res, fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	if err != nil {
		return res, fmt.Errorf("project %s %q: %w", kind, res.RecordID, err)
	}
	return res, nil
}

// AgreementCounts counts a partner's agreements by domain and signing year.
func (s *Service) AgreementCounts(ctx context.Context, partner string, from, to int32) (*bilatv1.GetAgreementCountsResponse, error) {
	if vs := domain.ValidateCountsQuery(partner, from, to); len(vs) > 0 {
		return nil, &ValidationError{Violations: vs}
	}
	resp, err := s.counts.AgreementCounts(ctx, partner, from, to)
	if err != nil {
		return nil, fmt.Errorf("agreement counts: %w", err)
	}
	return resp, nil
}
