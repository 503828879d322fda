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

// BatchPublisher is a Publisher that stores several messages with one
// wait, in order, returning one error per message. Without it a batch is
// published one message at a time.
type BatchPublisher interface {
	PublishAll(ctx context.Context, ms []Message) []error
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
	return s.HandleBatch(ctx, []Event{ev})[0]
}

// HandleBatch is Handle for several events: each is enriched as alone,
// and the enriched events are published together, in the order of evs,
// with one wait for the stream's acknowledgements.
func (s *Service) HandleBatch(ctx context.Context, evs []Event) []error {
	errs := make([]error, len(evs))
	var out []Message
	var at []int
	for i, ev := range evs {
		var m Message
		if isRetraction(ev.Subject) {
			m, errs[i] = s.retraction(ev)
		} else {
			m, errs[i] = s.prepare(ctx, ev, 0)
		}
		if errs[i] == nil {
			out, at = append(out, m), append(at, i)
		}
	}
	for n, err := range s.publishAll(ctx, out) {
		i := at[n]
		if err != nil {
			errs[i] = fmt.Errorf("publish enriched event at seq %d: %w", evs[i].StreamSequence, err)
			continue
		}
		s.log.Debug("published", "subject", out[n].Subject, "msg_id", out[n].MsgID, "seq", evs[i].StreamSequence)
	}
	return errs
}

// publishAll stores ms in order, with one wait when the publisher can.
func (s *Service) publishAll(ctx context.Context, ms []Message) []error {
	if len(ms) == 0 {
		return nil
	}
	if bp, ok := s.pub.(BatchPublisher); ok {
		return bp.PublishAll(ctx, ms)
	}
	errs := make([]error, len(ms))
	for i, m := range ms {
		errs[i] = s.pub.Publish(ctx, m)
	}
	return errs
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
	m, err := s.prepare(ctx, ev, version)
	if err != nil {
		return err
	}
	if err := s.pub.Publish(ctx, m); err != nil {
		return fmt.Errorf("publish enriched event at seq %d: %w", ev.StreamSequence, err)
	}
	return nil
}

// prepare enriches an event as enrichment version v, records its
// unresolved names, and returns the message to publish.
func (s *Service) prepare(ctx context.Context, ev Event, version uint32) (Message, error) {
	en, err := s.enrich(ev)
	if err != nil {
		return Message{}, err
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
			return Message{}, fmt.Errorf("track unresolved names of %s: %w", e.EventId, err)
		}
	}

	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return Message{}, permanent("encode enriched event: %v", err)
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
	s.log.Debug("enriched", "type", recordType, "event_id", e.EventId, "seq", ev.StreamSequence, "version", version, "partner", partner)
	return Message{Subject: natsx.SubjectEnriched(recordType, partner), MsgID: msgID, Data: data, Headers: hdr}, nil
}
