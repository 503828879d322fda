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
	kind, err := checkMessage(m)
	if err != nil {
		return Result{}, err
	}
	res := Result{Kind: kind}
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
	return res, s.projectErr(res, err)
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

// BatchProjector applies several events of one kind sharing Redis round
// trips (projection.Store); a Projector without it is used one event at a
// time.
type BatchProjector interface {
	ApplyAgreements(ctx context.Context, evs []*bilatv1.AgreementRecorded) ([]projection.Outcome, []error)
	ApplyTradeFigures(ctx context.Context, evs []*bilatv1.TradeFigureRecorded) ([]projection.Outcome, []error)
}

// ProjectBatch projects several messages with Project's guarantees and
// returns one result and one error per message, in order. Recorded
// agreements and trade figures are applied in batches (events of one
// record keep their order); a retraction is applied on its own, after
// every message before it.
func (s *Service) ProjectBatch(ctx context.Context, msgs []Message) ([]Result, []error) {
	results := make([]Result, len(msgs))
	errs := make([]error, len(msgs))
	bp, ok := s.proj.(BatchProjector)
	if !ok {
		for i, m := range msgs {
			results[i], errs[i] = s.Project(ctx, m)
		}
		return results, errs
	}
	var agrs []*bilatv1.AgreementRecorded
	var figs []*bilatv1.TradeFigureRecorded
	var agrAt, figAt []int
	settle := func(at []int, outs []projection.Outcome, es []error) {
		for n, i := range at {
			results[i].Outcome = outs[n]
			errs[i] = s.projectErr(results[i], es[n])
		}
	}
	flush := func() {
		if len(agrs) > 0 {
			outs, es := bp.ApplyAgreements(ctx, agrs)
			settle(agrAt, outs, es)
		}
		if len(figs) > 0 {
			outs, es := bp.ApplyTradeFigures(ctx, figs)
			settle(figAt, outs, es)
		}
		agrs, figs, agrAt, figAt = nil, nil, nil, nil
	}
	for i, m := range msgs {
		kind, err := checkMessage(m)
		results[i].Kind = kind
		if err != nil {
			errs[i] = err
			continue
		}
		switch kind {
		case domain.KindAgreement:
			ev := &bilatv1.AgreementRecorded{}
			if uerr := proto.Unmarshal(m.Data, ev); uerr != nil {
				errs[i] = fmt.Errorf("%w: decode %s: %v", ErrPermanent, kind.EventType(), uerr)
				continue
			}
			results[i].EventID, results[i].RecordID = ev.GetEnvelope().GetEventId(), ev.GetAgreement().GetId()
			agrs, agrAt = append(agrs, ev), append(agrAt, i)
		case domain.KindTradeFigure:
			ev := &bilatv1.TradeFigureRecorded{}
			if uerr := proto.Unmarshal(m.Data, ev); uerr != nil {
				errs[i] = fmt.Errorf("%w: decode %s: %v", ErrPermanent, kind.EventType(), uerr)
				continue
			}
			results[i].EventID, results[i].RecordID = ev.GetEnvelope().GetEventId(), ev.GetFigure().GetId()
			figs, figAt = append(figs, ev), append(figAt, i)
		default:
			flush()
			results[i], errs[i] = s.Project(ctx, m)
		}
	}
	flush()
	return results, errs
}

// checkMessage classifies a message by subject and checks its event type.
func checkMessage(m Message) (domain.Kind, error) {
	kind := domain.KindOf(m.Subject)
	if kind == domain.KindUnknown {
		return kind, fmt.Errorf("%w: subject %q is not an enriched event", ErrPermanent, m.Subject)
	}
	if m.EventType != "" && m.EventType != kind.EventType() {
		return kind, fmt.Errorf("%w: event type %q on subject %q", ErrPermanent, m.EventType, m.Subject)
	}
	return kind, nil
}

// projectErr is Project's error for an apply error.
func (s *Service) projectErr(res Result, err error) error {
	if errors.Is(err, projection.ErrInvalidEvent) {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	if err != nil {
		return fmt.Errorf("project %s %q: %w", res.Kind, res.RecordID, err)
	}
	return nil
}
