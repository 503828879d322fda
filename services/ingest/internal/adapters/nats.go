// Package adapters implements the app's ports on JetStream: the event
// publisher and the durable idempotency key store.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/services/ingest/internal/app"
	"bilat.dev/services/ingest/internal/domain"
)

// EventPublisher publishes recorded events to BILAT_EVENTS.
type EventPublisher struct {
	js jetstream.JetStream
}

// NewEventPublisher returns a publisher on js.
func NewEventPublisher(js jetstream.JetStream) *EventPublisher { return &EventPublisher{js: js} }

// Publish stores ev with Nats-Msg-Id = ev.MsgID and waits for the PubAck.
func (p *EventPublisher) Publish(ctx context.Context, ev app.Event) (bool, error) {
	out, err := outgoing(ev)
	if err != nil {
		return false, err
	}
	ack, err := natsx.Publish(ctx, p.js, out.Subject, out.MsgID, out.Data, out.Header)
	if err != nil {
		return false, err
	}
	return duplicate(out.Subject, ack)
}

// PublishAll stores evs in order with one wait for their PubAcks.
func (p *EventPublisher) PublishAll(ctx context.Context, evs []app.Event) ([]bool, []error) {
	dups := make([]bool, len(evs))
	errs := make([]error, len(evs))
	var outs []natsx.Outgoing
	var at []int
	for i, ev := range evs {
		out, err := outgoing(ev)
		if err != nil {
			errs[i] = err
			continue
		}
		outs, at = append(outs, out), append(at, i)
	}
	acks, perrs := natsx.PublishAll(ctx, p.js, outs)
	for n, i := range at {
		if perrs[n] != nil {
			errs[i] = perrs[n]
			continue
		}
		dups[i], errs[i] = duplicate(outs[n].Subject, acks[n])
	}
	return dups, errs
}

// outgoing is the BILAT_EVENTS message of ev.
func outgoing(ev app.Event) (natsx.Outgoing, error) {
	subject, err := eventSubject(ev.RecordType)
	if err != nil {
		return natsx.Outgoing{}, err
	}
	hdr := nats.Header{}
	hdr.Set(natsx.HeaderEventType, ev.EventType)
	if ev.Traceparent != "" {
		hdr.Set(natsx.HeaderTraceparent, ev.Traceparent)
	}
	if ev.Tracestate != "" {
		hdr.Set(natsx.HeaderTracestate, ev.Tracestate)
	}
	return natsx.Outgoing{Subject: subject, MsgID: ev.MsgID, Data: ev.Data, Header: hdr}, nil
}

// duplicate checks where the event landed and whether it was new.
func duplicate(subject string, ack *jetstream.PubAck) (bool, error) {
	if ack.Stream != natsx.StreamEvents {
		return false, fmt.Errorf("publish %s: stored in stream %s, want %s", subject, ack.Stream, natsx.StreamEvents)
	}
	return ack.Duplicate, nil
}

// Subjects of retraction events on BILAT_EVENTS (pkg/natsx has constants
// only for recorded events).
const (
	SubjectRetractedAgreement = "bilat.events.agreement.retracted"
	SubjectRetractedTrade     = "bilat.events.trade_figure.retracted"
)

func eventSubject(recordType string) (string, error) {
	switch recordType {
	case domain.TypeAgreement:
		return natsx.SubjectEventAgreement, nil
	case domain.TypeTradeFigure:
		return natsx.SubjectEventTrade, nil
	case domain.TypeAgreementRetraction:
		return SubjectRetractedAgreement, nil
	case domain.TypeTradeFigureRetraction:
		return SubjectRetractedTrade, nil
	default:
		return "", fmt.Errorf("no event subject for record type %q", recordType)
	}
}

// IdempotencyKV keeps accepted keys in the BILAT_IDEMPOTENCY bucket.
type IdempotencyKV struct {
	kv  jetstream.KeyValue
	js  jetstream.JetStream
	log *slog.Logger
	// fallback is logged the first time batched lookups fail.
	fallback sync.Once
}

// OpenIdempotencyKV binds to the bucket created by natsx.EnsureStreams.
func OpenIdempotencyKV(ctx context.Context, js jetstream.JetStream, log *slog.Logger) (*IdempotencyKV, error) {
	kv, err := js.KeyValue(ctx, natsx.BucketIdempotency)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", natsx.BucketIdempotency, err)
	}
	return &IdempotencyKV{kv: kv, js: js, log: log}, nil
}

// Lookup returns the event id stored under keyHash.
func (s *IdempotencyKV) Lookup(ctx context.Context, keyHash string) (string, bool, error) {
	e, err := s.kv.Get(ctx, keyHash)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("kv get %s: %w", keyHash, err)
	}
	return string(e.Value()), true, nil
}

// Remember stores keyHash -> eventID. Create keeps the first writer's
// value when two submissions race; both derived the same event id anyway.
func (s *IdempotencyKV) Remember(ctx context.Context, keyHash, eventID string) error {
	_, err := s.kv.Create(ctx, keyHash, []byte(eventID))
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("kv create %s: %w", keyHash, err)
	}
	return nil
}
