package app

import (
	"context"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/ingest/internal/domain"
)

// RetractAgreement validates and records the withdrawal of an agreement
// (AgreementRetracted on bilat.events.agreement.retracted). Like a
// submission it is recorded once per idempotency key (default: a hash of
// the id and the reason). Whether the id was ever recorded is not checked
// here: the projections keep a tombstone for ids they have not seen yet.
func (s *Service) RetractAgreement(ctx context.Context, id, reason string, meta Meta) (Result, error) {
	reason = domain.NormalizeReason(reason)
	vs := append(domain.ValidateRetraction("agreement_id", id, reason), domain.ValidateIdempotencyKey(meta.IdempotencyKey, meta.keyField())...)
	if len(vs) > 0 {
		return Result{}, &ValidationError{Record: "agreement retraction", Violations: vs}
	}
	hash := domain.RetractionHash(domain.TypeAgreementRetraction, id, reason)
	return s.record(ctx, newPending(domain.TypeAgreementRetraction, id, hash, meta, func(env *bilatv1.Envelope) proto.Message {
		return &bilatv1.AgreementRetracted{Envelope: env, AgreementId: id, Reason: reason}
	}))
}

// RetractTradeFigure is RetractAgreement for trade figures
// (TradeFigureRetracted on bilat.events.trade_figure.retracted).
func (s *Service) RetractTradeFigure(ctx context.Context, id, reason string, meta Meta) (Result, error) {
	reason = domain.NormalizeReason(reason)
	vs := append(domain.ValidateRetraction("figure_id", id, reason), domain.ValidateIdempotencyKey(meta.IdempotencyKey, meta.keyField())...)
	if len(vs) > 0 {
		return Result{}, &ValidationError{Record: "trade figure retraction", Violations: vs}
	}
	hash := domain.RetractionHash(domain.TypeTradeFigureRetraction, id, reason)
	return s.record(ctx, newPending(domain.TypeTradeFigureRetraction, id, hash, meta, func(env *bilatv1.Envelope) proto.Message {
		return &bilatv1.TradeFigureRetracted{Envelope: env, FigureId: id, Reason: reason}
	}))
}
