// Package app holds ingest's use case: normalise and validate a record,
// derive its keys, and record it exactly once in the event stream.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/services/ingest/internal/domain"
)

// Event is a recorded event ready to be stored.
type Event struct {
	// RecordType is domain.TypeAgreement or domain.TypeTradeFigure.
	RecordType string
	// EventType is the full proto name of the payload ("bilat.v1.AgreementRecorded").
	EventType string
	// MsgID deduplicates the event in the stream; it is the event id.
	MsgID       string
	Data        []byte
	Traceparent string
	Tracestate  string
}

// EventPublisher stores events durably.
type EventPublisher interface {
	// Publish returns once the event is durable; duplicate reports that
	// the stream already held an event with this MsgID.
	Publish(ctx context.Context, ev Event) (duplicate bool, err error)
}

// BatchPublisher is an EventPublisher that can store several events with
// one wait: PublishAll stores evs in order (the stream holds them in that
// order) and returns, per event, whether it was a duplicate or the error.
// A publisher without it publishes a batch one event at a time.
type BatchPublisher interface {
	PublishAll(ctx context.Context, evs []Event) (duplicates []bool, errs []error)
}

// IdempotencyStore remembers accepted idempotency keys for ever, beyond
// the stream's duplicate window.
type IdempotencyStore interface {
	// Lookup returns the event id stored for keyHash.
	Lookup(ctx context.Context, keyHash string) (eventID string, found bool, err error)
	// Remember stores keyHash -> eventID; an existing entry is not an error.
	Remember(ctx context.Context, keyHash, eventID string) error
}

// BatchIdempotencyStore is an IdempotencyStore that looks up and remembers
// many keys with one wait each, returning per key what Lookup and
// Remember return. A store without it serves a batch one key per call,
// the calls running concurrently.
type BatchIdempotencyStore interface {
	LookupAll(ctx context.Context, keyHashes []string) (eventIDs []string, found []bool, errs []error)
	RememberAll(ctx context.Context, keyHashes, eventIDs []string) []error
}

// Meta is what a door knows about a submission besides the record.
type Meta struct {
	// IdempotencyKey is the publisher's key; empty means the content hash.
	IdempotencyKey string
	// KeyField names where the key came from, for violations
	// ("idempotency_key", "header ce-id").
	KeyField string
	// OccurredAt is the publisher's time; zero means now.
	OccurredAt  time.Time
	Source      string
	Traceparent string
	Tracestate  string
}

// Result is the outcome of an accepted submission.
type Result struct {
	EventID  string
	RecordID string
	// Duplicate is true when the event had been accepted before and
	// nothing new was recorded.
	Duplicate bool
}

// ValidationError lists every violation of a rejected record.
type ValidationError struct {
	Record     string
	Violations []domain.Violation
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Record, domain.FormatViolations(e.Violations))
}

// IsValidation reports whether err is a *ValidationError and returns it.
func IsValidation(err error) (*ValidationError, bool) {
	var v *ValidationError
	ok := errors.As(err, &v)
	return v, ok
}

// Options tune the Service.
type Options struct {
	// Timeout bounds the durable part of one submission (lookup, publish,
	// remember) so a caller without a deadline does not hang while NATS is
	// down. Zero means 10s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service records submissions.
type Service struct {
	pub     EventPublisher
	store   IdempotencyStore
	log     *slog.Logger
	timeout time.Duration
	now     func() time.Time
}

// New returns a Service.
func New(pub EventPublisher, store IdempotencyStore, log *slog.Logger, opts Options) *Service {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{pub: pub, store: store, log: log, timeout: opts.Timeout, now: opts.Now}
}

// SubmitAgreement validates and records an agreement. root is the path of
// the agreement in the caller's request, used in violations. The argument
// is not modified.
func (s *Service) SubmitAgreement(ctx context.Context, in *bilatv1.Agreement, root string, meta Meta) (Result, error) {
	p, err := prepareAgreement(in, root, meta)
	if err != nil {
		return Result{}, err
	}
	return s.record(ctx, p)
}

// SubmitTradeFigure is SubmitAgreement for trade figures.
func (s *Service) SubmitTradeFigure(ctx context.Context, in *bilatv1.TradeFigure, root string, meta Meta) (Result, error) {
	p, err := prepareFigure(in, root, meta)
	if err != nil {
		return Result{}, err
	}
	return s.record(ctx, p)
}

// Submission is one record of SubmitBatch: an agreement or a trade figure,
// with its path in the caller's request and what the door knows of it.
type Submission struct {
	Agreement *bilatv1.Agreement
	Figure    *bilatv1.TradeFigure
	Root      string
	Meta      Meta
}

func (sub Submission) prepare() (pending, error) {
	if sub.Figure != nil {
		return prepareFigure(sub.Figure, sub.Root, sub.Meta)
	}
	return prepareAgreement(sub.Agreement, sub.Root, sub.Meta)
}

// pending is a valid submission with its keys, ready to be recorded.
type pending struct {
	recordType string
	recordID   string
	key        string // namespaced idempotency key
	hash       string // domain.KeyHash(key), computed once: a batch asks for it several times
	meta       Meta
	build      func(*bilatv1.Envelope) proto.Message
}

func (p pending) keyHash() string { return p.hash }
func (p pending) eventID() string { return domain.EventID(p.key) }

func prepareAgreement(in *bilatv1.Agreement, root string, meta Meta) (pending, error) {
	var a *bilatv1.Agreement
	if in != nil {
		a = proto.Clone(in).(*bilatv1.Agreement)
		domain.NormalizeAgreement(a)
	}
	vs := append(domain.ValidateAgreement(a, root), domain.ValidateIdempotencyKey(meta.IdempotencyKey, meta.keyField())...)
	if len(vs) > 0 {
		return pending{}, &ValidationError{Record: domain.TypeAgreement, Violations: vs}
	}
	hash, err := domain.ContentHash(a)
	if err != nil {
		return pending{}, err
	}
	a.Id = domain.RecordID(a.Id, domain.AgreementIDPrefix, hash)
	return newPending(domain.TypeAgreement, a.Id, hash, meta, func(env *bilatv1.Envelope) proto.Message {
		return &bilatv1.AgreementRecorded{Envelope: env, Agreement: a}
	}), nil
}

func prepareFigure(in *bilatv1.TradeFigure, root string, meta Meta) (pending, error) {
	var f *bilatv1.TradeFigure
	if in != nil {
		f = proto.Clone(in).(*bilatv1.TradeFigure)
		domain.NormalizeTradeFigure(f)
	}
	vs := append(domain.ValidateTradeFigure(f, root), domain.ValidateIdempotencyKey(meta.IdempotencyKey, meta.keyField())...)
	if len(vs) > 0 {
		return pending{}, &ValidationError{Record: domain.TypeTradeFigure, Violations: vs}
	}
	hash, err := domain.ContentHash(f)
	if err != nil {
		return pending{}, err
	}
	f.Id = domain.RecordID(f.Id, domain.TradeFigureIDPrefix, hash)
	return newPending(domain.TypeTradeFigure, f.Id, hash, meta, func(env *bilatv1.Envelope) proto.Message {
		return &bilatv1.TradeFigureRecorded{Envelope: env, Figure: f}
	}), nil
}

func newPending(recordType, recordID, contentHash string, meta Meta, build func(*bilatv1.Envelope) proto.Message) pending {
	key := domain.NamespacedKey(recordType, domain.IdempotencyKey(contentHash, meta.IdempotencyKey))
	return pending{recordType: recordType, recordID: recordID, key: key, hash: domain.KeyHash(key), meta: meta, build: build}
}

func (m Meta) keyField() string {
	if m.KeyField == "" {
		return "idempotency_key"
	}
	return m.KeyField
}

// record stores the event unless its key was accepted before. The key
// store is consulted first (it covers any age), the stream's Nats-Msg-Id
// deduplication covers racing submissions, and the key is remembered only
// after the event is durable, so a failure in between is retried safely.
func (s *Service) record(ctx context.Context, p pending) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	log := s.logFor(p)

	stored, found, err := s.store.Lookup(ctx, p.keyHash())
	if err != nil {
		return Result{}, fmt.Errorf("look up idempotency key: %w", err)
	}
	if found {
		log.Debug("duplicate submission", "first_event_id", stored)
		return Result{EventID: stored, RecordID: p.recordID, Duplicate: true}, nil
	}
	ev, err := s.event(p)
	if err != nil {
		return Result{}, err
	}
	dup, err := s.pub.Publish(ctx, ev)
	if err != nil {
		return Result{}, fmt.Errorf("publish event: %w", err)
	}
	if err := s.store.Remember(ctx, p.keyHash(), ev.MsgID); err != nil {
		return Result{}, fmt.Errorf("remember idempotency key: %w", err)
	}
	s.logRecorded(log, dup)
	return Result{EventID: ev.MsgID, RecordID: p.recordID, Duplicate: dup}, nil
}

// logFor is the logger for a submission's debug lines. Without debug
// logging it skips building the attributes, which cost a batch of records
// an allocation-heavy With per record for lines never written.
func (s *Service) logFor(p pending) *slog.Logger {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return s.log
	}
	return s.log.With("type", p.recordType, "record_id", p.recordID, "event_id", p.eventID(), "source", p.meta.Source)
}

func (s *Service) logRecorded(log *slog.Logger, dup bool) {
	if dup {
		log.Debug("duplicate submission caught by the stream")
	} else {
		log.Debug("recorded")
	}
}

// event builds the stored event of p.
func (s *Service) event(p pending) (Event, error) {
	now := s.now()
	occurred := p.meta.OccurredAt
	if occurred.IsZero() {
		occurred = now
	}
	msg := p.build(&bilatv1.Envelope{
		EventId:        p.eventID(),
		IdempotencyKey: p.key,
		OccurredAt:     timestamppb.New(occurred),
		RecordedAt:     timestamppb.New(now),
		Source:         p.meta.Source,
		Traceparent:    p.meta.Traceparent,
		Tracestate:     p.meta.Tracestate,
	})
	data, err := proto.Marshal(msg)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s: %w", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	return Event{
		RecordType:  p.recordType,
		EventType:   string(msg.ProtoReflect().Descriptor().FullName()),
		MsgID:       p.eventID(),
		Data:        data,
		Traceparent: p.meta.Traceparent,
		Tracestate:  p.meta.Tracestate,
	}, nil
}
