// Package app is the enrichment use case: decode a recorded event, resolve
// its entities, stamp its stream position, and publish it to the enriched
// stream under its partner.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/domain"
)

// ErrPermanent marks events no retry can enrich (undecodable, unknown
// subject, missing payload); callers dead-letter them.
var ErrPermanent = errors.New("permanent failure")

func permanent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPermanent, fmt.Sprintf(format, args...))
}

// Event is one message read from BILAT_EVENTS.
type Event struct {
	Subject string
	Data    []byte
	// Headers of the message; only a few are read.
	MsgID       string
	Traceparent string
	Tracestate  string
	// StreamSequence is the message's position in BILAT_EVENTS.
	StreamSequence uint64
}

// Message is one enriched event to store.
type Message struct {
	Subject string
	MsgID   string
	Data    []byte
	Headers map[string]string
}

// Publisher stores a message durably; it returns only once the stream has
// acknowledged it (a deduplicated message counts as stored).
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// Tracker keeps the names that did not resolve, with the stream sequences
// of the events that carried them, durably.
type Tracker interface {
	// Track records that the event at seq carried refs (unresolved or
	// ambiguous); recording the same event again changes nothing.
	Track(ctx context.Context, seq uint64, refs []*bilatv1.EntityRef) error
}

// Service enriches events.
type Service struct {
	enricher domain.Enricher
	pub      Publisher
	tracker  Tracker
	log      *slog.Logger
}

// Option configures a Service.
type Option func(*Service)

// WithRates converts values to USD with rates (without it every
// conversion is a gap).
func WithRates(r *domain.Rates) Option { return func(s *Service) { s.enricher.Rates = r } }

// WithTracker records unresolved and ambiguous names.
func WithTracker(t Tracker) Option { return func(s *Service) { s.tracker = t } }

// New returns the service; home is the home country's ISO 3166-1 code.
func New(g *domain.Gazetteer, home string, pub Publisher, log *slog.Logger, opts ...Option) *Service {
	s := &Service{enricher: domain.Enricher{Gazetteer: g, Home: home}, pub: pub, log: log}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Enricher is the enrichment the service applies.
func (s *Service) Enricher() domain.Enricher { return s.enricher }

// Record types, as in enriched subjects.
const (
	TypeAgreement   = "agreement"
	TypeTradeFigure = "trade_figure"
)

// Handle enriches one event and publishes it. A nil return means the
// enriched event is durable; errors wrapping ErrPermanent will never
// succeed; other errors are worth a retry.
func (s *Service) Handle(ctx context.Context, ev Event) error {
	if isRetraction(ev.Subject) {
		return s.passRetraction(ctx, ev)
	}
	return s.handle(ctx, ev, 0)
}

// Enriched is one event after enrichment, not yet published.
type Enriched struct {
	Msg        proto.Message
	RecordType string
	Partner    string
	Envelope   *bilatv1.Envelope
	// Unresolved are the refs that did not resolve.
	Unresolved []*bilatv1.EntityRef
}

// enrich decodes and enriches an event without side effects.
func (s *Service) enrich(ev Event) (*Enriched, error) {
	var (
		msg        proto.Message
		env        **bilatv1.Envelope
		recordType string
		enrich     func() (partner string, ok bool)
		refs       func() []*bilatv1.EntityRef
	)
	switch ev.Subject {
	case natsx.SubjectEventAgreement:
		m := &bilatv1.AgreementRecorded{}
		msg, env, recordType = m, &m.Envelope, TypeAgreement
		enrich = func() (string, bool) { return s.enricher.Agreement(m.Agreement), m.Agreement != nil }
		refs = func() []*bilatv1.EntityRef { return domain.AgreementRefs(m.Agreement) }
	case natsx.SubjectEventTrade:
		m := &bilatv1.TradeFigureRecorded{}
		msg, env, recordType = m, &m.Envelope, TypeTradeFigure
		enrich = func() (string, bool) { return s.enricher.TradeFigure(m.Figure), m.Figure != nil }
		refs = func() []*bilatv1.EntityRef { return domain.TradeRefs(m.Figure) }
	default:
		return nil, permanent("no enrichment for subject %q", ev.Subject)
	}
	if err := proto.Unmarshal(ev.Data, msg); err != nil {
		return nil, permanent("decode %s: %v", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	partner, ok := enrich()
	if !ok {
		return nil, permanent("%s has no %s", msg.ProtoReflect().Descriptor().FullName(), recordType)
	}
	if *env == nil {
		*env = &bilatv1.Envelope{}
	}
	e := *env
	if e.EventId == "" {
		// The stream's id is the event id (ingest sets both); an event
		// without either cannot be deduplicated downstream.
		if ev.MsgID == "" {
			return nil, permanent("event has no envelope.event_id and no Nats-Msg-Id")
		}
		e.EventId = ev.MsgID
	}
	if e.Traceparent == "" {
		e.Traceparent, e.Tracestate = ev.Traceparent, ev.Tracestate
	}
	e.Sequence = ev.StreamSequence
	return &Enriched{Msg: msg, RecordType: recordType, Partner: partner, Envelope: e, Unresolved: domain.Unresolved(refs()...)}, nil
}

// handle enriches an event as enrichment version v (0 the first time,
// higher after an operator's alias) and publishes it.
func (s *Service) handle(ctx context.Context, ev Event, version uint32) error {
	en, err := s.enrich(ev)
	if err != nil {
		return err
	}
	msg, e, recordType, partner := en.Msg, en.Envelope, en.RecordType, en.Partner
	e.EnrichmentVersion = version
	msgID := e.EventId
	if version > 0 {
		// A new version must not be dropped as a duplicate of the first.
		msgID = fmt.Sprintf("%s-e%d", e.EventId, version)
	}
	// Tracked before publishing: once the enriched event is visible, an
	// operator can already find its names in the unresolved list.
	if s.tracker != nil && len(en.Unresolved) > 0 {
		if err := s.tracker.Track(ctx, ev.StreamSequence, en.Unresolved); err != nil {
			return fmt.Errorf("track unresolved names of %s: %w", e.EventId, err)
		}
	}

	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return permanent("encode enriched event: %v", err)
	}
	hdr := map[string]string{natsx.HeaderEventType: string(msg.ProtoReflect().Descriptor().FullName())}
	tp, ts := ev.Traceparent, ev.Tracestate
	if tp == "" {
		tp, ts = e.Traceparent, e.Tracestate
	}
	if tp != "" {
		hdr[natsx.HeaderTraceparent] = tp
	}
	if ts != "" {
		hdr[natsx.HeaderTracestate] = ts
	}
	out := Message{Subject: natsx.SubjectEnriched(recordType, partner), MsgID: msgID, Data: data, Headers: hdr}
	if err := s.pub.Publish(ctx, out); err != nil {
		return fmt.Errorf("publish enriched %s %s: %w", recordType, e.EventId, err)
	}
	s.log.Debug("enriched", "type", recordType, "event_id", e.EventId, "seq", ev.StreamSequence, "version", version, "subject", out.Subject)
	return nil
}
