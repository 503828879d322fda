package adapters

import (
	"context"
	"strings"
	"testing"
	"time"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	"bilat.dev/services/ingest/internal/app"
	"bilat.dev/services/ingest/internal/domain"
)

func TestIdempotencyKV(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := OpenIdempotencyKV(ctx, n.JS, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	key := domain.KeyHash("agreement:k1")
	if _, found, err := kv.Lookup(ctx, key); err != nil || found {
		t.Fatalf("lookup of a new key: found=%v err=%v", found, err)
	}
	if err := kv.Remember(ctx, key, "evt-1"); err != nil {
		t.Fatal(err)
	}
	// A second writer (a racing duplicate) neither fails nor overwrites.
	if err := kv.Remember(ctx, key, "evt-2"); err != nil {
		t.Fatal(err)
	}
	id, found, err := kv.Lookup(ctx, key)
	if err != nil || !found || id != "evt-1" {
		t.Fatalf("lookup = %q, %v, %v; want evt-1", id, found, err)
	}
	// The key survives a server restart (file storage). Each lookup gets
	// its own deadline: one sent as the client reconnects can go
	// unanswered while the server recovers its streams.
	n.Restart(t)
	testenv.Eventually(t, 15*time.Second, "the key after a restart", func() bool {
		try, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		id, found, err := kv.Lookup(try, key)
		return err == nil && found && id == "evt-1"
	})
}

func TestOpenIdempotencyKVWithoutBucket(t *testing.T) {
	n := testenv.NATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := OpenIdempotencyKV(ctx, n.JS, testenv.Logger(t)); err == nil || !strings.Contains(err.Error(), natsx.BucketIdempotency) {
		t.Fatalf("err = %v", err)
	}
}

func TestEventPublisher(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := NewEventPublisher(n.JS)
	ev := app.Event{RecordType: domain.TypeTradeFigure, EventType: "bilat.v1.TradeFigureRecorded", MsgID: "evt-1", Data: []byte("x"), Tracestate: "a=b"}
	dup, err := p.Publish(ctx, ev)
	if err != nil || dup {
		t.Fatalf("first publish: dup=%v err=%v", dup, err)
	}
	dup, err = p.Publish(ctx, ev)
	if err != nil || !dup {
		t.Fatalf("second publish: dup=%v err=%v", dup, err)
	}
	s, err := n.JS.Stream(ctx, natsx.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, natsx.SubjectEventTrade)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(natsx.HeaderMsgID) != "evt-1" || m.Header.Get(natsx.HeaderEventType) != "bilat.v1.TradeFigureRecorded" ||
		m.Header.Get(natsx.HeaderTracestate) != "a=b" || m.Header.Get(natsx.HeaderTraceparent) != "" {
		t.Fatalf("headers %v", m.Header)
	}
	if _, err := p.Publish(ctx, app.Event{RecordType: "treaty", MsgID: "evt-2"}); err == nil {
		t.Fatal("unknown record type published")
	}

	// A batch: stored in order, the repeat and the known id reported as
	// duplicates, the unknown type rejected without stopping the others.
	batch := []app.Event{
		{RecordType: domain.TypeAgreement, EventType: "bilat.v1.AgreementRecorded", MsgID: "evt-3", Data: []byte("3")},
		{RecordType: "treaty", MsgID: "evt-4"},
		{RecordType: domain.TypeTradeFigure, EventType: "bilat.v1.TradeFigureRecorded", MsgID: "evt-1", Data: []byte("x")},
		{RecordType: domain.TypeAgreement, EventType: "bilat.v1.AgreementRecorded", MsgID: "evt-5", Data: []byte("5")},
		{RecordType: domain.TypeAgreement, EventType: "bilat.v1.AgreementRecorded", MsgID: "evt-3", Data: []byte("3")},
	}
	dups, errs := p.PublishAll(ctx, batch)
	if errs[0] != nil || errs[1] == nil || errs[2] != nil || errs[3] != nil || errs[4] != nil {
		t.Fatalf("batch errors %v", errs)
	}
	if dups[0] || !dups[2] || dups[3] || !dups[4] {
		t.Fatalf("batch duplicates %v", dups)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("%d events stored, want 3", info.State.Msgs)
	}
	for seq, want := range map[uint64]string{2: "evt-3", 3: "evt-5"} {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get(natsx.HeaderMsgID); got != want {
			t.Fatalf("event %d is %s, want %s", seq, got, want)
		}
	}
}
