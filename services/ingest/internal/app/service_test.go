package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/proto"

	"bilat.dev/services/ingest/internal/domain"
)

// memPublisher and memStore are in-memory stand-ins for the app's own
// ports; the NATS adapters are exercised by the integration tests.
type memPublisher struct {
	mu     sync.Mutex
	events []Event
	ids    map[string]bool
	err    error
}

func (p *memPublisher) Publish(_ context.Context, ev Event) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return false, p.err
	}
	if p.ids == nil {
		p.ids = map[string]bool{}
	}
	if p.ids[ev.MsgID] {
		return true, nil
	}
	p.ids[ev.MsgID] = true
	p.events = append(p.events, ev)
	return false, nil
}

type memStore struct {
	mu        sync.Mutex
	m         map[string]string
	lookupErr error
	putErr    error
}

func (s *memStore) Lookup(_ context.Context, k string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lookupErr != nil {
		return "", false, s.lookupErr
	}
	v, ok := s.m[k]
	return v, ok, nil
}

func (s *memStore) Remember(_ context.Context, k, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.putErr != nil {
		return s.putErr
	}
	if s.m == nil {
		s.m = map[string]string{}
	}
	if _, ok := s.m[k]; !ok {
		s.m[k] = v
	}
	return nil
}

var fixedNow = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func newService(pub *memPublisher, store IdempotencyStore) *Service {
	return New(pub, store, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Now: func() time.Time { return fixedNow }})
}

func agreement() *bilatv1.Agreement {
	return &bilatv1.Agreement{
		Title:   "  Memorandum on   science ",
		Kind:    bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM,
		Status:  bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
		Partner: &bilatv1.EntityRef{Name: "China"},
		Value:   &bilatv1.Money{Currency: "usd", Units: 10},
	}
}

func figure() *bilatv1.TradeFigure {
	return &bilatv1.TradeFigure{
		Reporter: &bilatv1.EntityRef{Name: "Belarus"},
		Partner:  &bilatv1.EntityRef{Name: "Georgia"},
		Period:   &bilatv1.Period{Year: 2019},
		Flow:     bilatv1.TradeFlow_TRADE_FLOW_EXPORTS,
		Value:    &bilatv1.Money{Currency: "USD", Units: 5},
	}
}

func TestSubmitAgreementRecordsEvent(t *testing.T) {
	pub, store := &memPublisher{}, &memStore{}
	svc := newService(pub, store)
	in := agreement()
	before := proto.Clone(in)
	occurred := time.Date(2019, 1, 2, 3, 4, 5, 0, time.UTC)
	res, err := svc.SubmitAgreement(context.Background(), in, "agreement", Meta{
		Source: "grpc:1.2.3.4:5", OccurredAt: occurred,
		Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", Tracestate: "k=v",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, before) {
		t.Fatal("SubmitAgreement modified its argument")
	}

	norm := proto.Clone(in).(*bilatv1.Agreement)
	domain.NormalizeAgreement(norm)
	hash, err := domain.ContentHash(norm)
	if err != nil {
		t.Fatal(err)
	}
	key := "agreement:" + hash
	if want := domain.EventID(key); res.EventID != want {
		t.Fatalf("event id %s, want %s", res.EventID, want)
	}
	if want := "agr-" + hash[:16]; res.RecordID != want {
		t.Fatalf("record id %s, want %s", res.RecordID, want)
	}
	if res.Duplicate {
		t.Fatal("first submission reported as duplicate")
	}
	if len(pub.events) != 1 {
		t.Fatalf("%d events published, want 1", len(pub.events))
	}
	ev := pub.events[0]
	if ev.MsgID != res.EventID || ev.RecordType != domain.TypeAgreement || ev.EventType != "bilat.v1.AgreementRecorded" {
		t.Fatalf("event %+v", ev)
	}
	if ev.Traceparent != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" || ev.Tracestate != "k=v" {
		t.Fatalf("trace context not propagated: %+v", ev)
	}
	var rec bilatv1.AgreementRecorded
	if err := proto.Unmarshal(ev.Data, &rec); err != nil {
		t.Fatal(err)
	}
	env := rec.GetEnvelope()
	if env.GetEventId() != res.EventID || env.GetIdempotencyKey() != key || env.GetSource() != "grpc:1.2.3.4:5" ||
		!env.GetOccurredAt().AsTime().Equal(occurred) || !env.GetRecordedAt().AsTime().Equal(fixedNow) ||
		env.GetTraceparent() != ev.Traceparent || env.GetTracestate() != "k=v" {
		t.Fatalf("envelope %v", env)
	}
	if rec.GetAgreement().GetId() != res.RecordID || rec.GetAgreement().GetTitle() != "Memorandum on science" || rec.GetAgreement().GetValue().GetCurrency() != "USD" {
		t.Fatalf("agreement not normalised or id missing: %v", rec.GetAgreement())
	}
	if store.m[domain.KeyHash(key)] != res.EventID {
		t.Fatalf("key not remembered: %v", store.m)
	}
}

func TestSubmitDuplicateFromStore(t *testing.T) {
	pub, store := &memPublisher{}, &memStore{}
	svc := newService(pub, store)
	first, err := svc.SubmitAgreement(context.Background(), agreement(), "agreement", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	// A different spelling of the same content is the same submission.
	again := agreement()
	again.Title = "Memorandum on science"
	pub.ids = nil // forget the stream's dedup window: only the store can catch it
	second, err := svc.SubmitAgreement(context.Background(), again, "agreement", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if !second.Duplicate || second.EventID != first.EventID || second.RecordID != first.RecordID {
		t.Fatalf("second = %+v, first = %+v", second, first)
	}
	if len(pub.events) != 1 {
		t.Fatalf("%d events published, want 1", len(pub.events))
	}
}

func TestSubmitExplicitKey(t *testing.T) {
	pub, store := &memPublisher{}, &memStore{}
	svc := newService(pub, store)
	a := agreement()
	a.Id = "cn-sci-1"
	res, err := svc.SubmitAgreement(context.Background(), a, "agreement", Meta{IdempotencyKey: "batch-7/row-3"})
	if err != nil {
		t.Fatal(err)
	}
	if want := domain.EventID("agreement:batch-7/row-3"); res.EventID != want {
		t.Fatalf("event id %s, want %s", res.EventID, want)
	}
	if res.RecordID != "cn-sci-1" {
		t.Fatalf("record id %s", res.RecordID)
	}
	// Different content under the same key is still a duplicate: the key
	// identifies the submission.
	a.Title = "Another title"
	dup, err := svc.SubmitAgreement(context.Background(), a, "agreement", Meta{IdempotencyKey: "batch-7/row-3"})
	if err != nil {
		t.Fatal(err)
	}
	if !dup.Duplicate || dup.EventID != res.EventID {
		t.Fatalf("dup = %+v", dup)
	}
	// The same key for a trade figure is a different submission.
	tf, err := svc.SubmitTradeFigure(context.Background(), figure(), "figure", Meta{IdempotencyKey: "batch-7/row-3"})
	if err != nil {
		t.Fatal(err)
	}
	if tf.Duplicate || tf.EventID != domain.EventID("trade_figure:batch-7/row-3") {
		t.Fatalf("trade figure result %+v", tf)
	}
}

func TestSubmitStreamDuplicateIsRemembered(t *testing.T) {
	pub, store := &memPublisher{}, &memStore{}
	svc := newService(pub, store)
	res, err := svc.SubmitTradeFigure(context.Background(), figure(), "figure", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	// The key store lost the key (e.g. the process died after publishing):
	// the stream's deduplication answers, and the key is stored again.
	store.m = nil
	again, err := svc.SubmitTradeFigure(context.Background(), figure(), "figure", Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.EventID != res.EventID {
		t.Fatalf("again = %+v", again)
	}
	if len(store.m) != 1 {
		t.Fatalf("key not remembered after a stream duplicate: %v", store.m)
	}
}

func TestSubmitFailures(t *testing.T) {
	boom := errors.New("nats: no responders")
	t.Run("lookup fails", func(t *testing.T) {
		pub := &memPublisher{}
		svc := newService(pub, &memStore{lookupErr: boom})
		_, err := svc.SubmitAgreement(context.Background(), agreement(), "agreement", Meta{})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if len(pub.events) != 0 {
			t.Fatal("published although the key store failed")
		}
	})
	t.Run("publish fails", func(t *testing.T) {
		store := &memStore{}
		svc := newService(&memPublisher{err: boom}, store)
		_, err := svc.SubmitAgreement(context.Background(), agreement(), "agreement", Meta{})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if len(store.m) != 0 {
			t.Fatal("key remembered although the publish failed")
		}
	})
	t.Run("remember fails", func(t *testing.T) {
		svc := newService(&memPublisher{}, &memStore{putErr: boom})
		_, err := svc.SubmitTradeFigure(context.Background(), figure(), "figure", Meta{})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSubmitInvalid(t *testing.T) {
	pub, store := &memPublisher{}, &memStore{}
	svc := newService(pub, store)
	a := agreement()
	a.Title = " "
	a.SignedOn = &bilatv1.PartialDate{Year: 2019, Month: 2, Day: 29}
	_, err := svc.SubmitAgreement(context.Background(), a, "agreement", Meta{IdempotencyKey: strings.Repeat("k", 600), KeyField: "header ce-id"})
	v, ok := IsValidation(err)
	if !ok {
		t.Fatalf("err = %v, want a validation error", err)
	}
	var fields []string
	for _, x := range v.Violations {
		fields = append(fields, x.Field)
	}
	if got := strings.Join(fields, ","); got != "agreement.title,agreement.signed_on.day,header ce-id" {
		t.Fatalf("fields %s", got)
	}
	if !strings.Contains(err.Error(), "invalid agreement: agreement.title: required") {
		t.Fatalf("error text %q", err)
	}

	_, err = svc.SubmitTradeFigure(context.Background(), nil, "figure", Meta{})
	if v, ok := IsValidation(err); !ok || v.Violations[0].Field != "figure" || v.Record != "trade_figure" {
		t.Fatalf("nil figure: %v", err)
	}
	if len(pub.events) != 0 || len(store.m) != 0 {
		t.Fatal("an invalid record had an effect")
	}
}

func TestSubmitTradeFigureEvent(t *testing.T) {
	pub := &memPublisher{}
	svc := newService(pub, &memStore{})
	res, err := svc.SubmitTradeFigure(context.Background(), figure(), "figure", Meta{Source: "jetstream:bilat.ingest.trade_figure"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.RecordID, "trd-") || len(res.RecordID) != 20 {
		t.Fatalf("record id %q", res.RecordID)
	}
	var rec bilatv1.TradeFigureRecorded
	if err := proto.Unmarshal(pub.events[0].Data, &rec); err != nil {
		t.Fatal(err)
	}
	if pub.events[0].EventType != "bilat.v1.TradeFigureRecorded" || rec.GetFigure().GetId() != res.RecordID ||
		!rec.GetEnvelope().GetOccurredAt().AsTime().Equal(fixedNow) || rec.GetEnvelope().GetSource() != "jetstream:bilat.ingest.trade_figure" {
		t.Fatalf("event %v", &rec)
	}
}

// slowPublisher blocks until its context ends, like natsx.Publish retrying
// against a NATS server that is down.
type slowPublisher struct{}

func (slowPublisher) Publish(ctx context.Context, _ Event) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

func TestSubmitTimeout(t *testing.T) {
	svc := New(slowPublisher{}, &memStore{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Timeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := svc.SubmitAgreement(context.Background(), agreement(), "agreement", Meta{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}
