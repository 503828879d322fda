package natsx_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
)

func TestSubjectToken(t *testing.T) {
	for in, want := range map[string]string{"GE": "GE", "bloc.cis": "bloc_cis", "GE-AJ.batumi": "GE-AJ_batumi", "": "unresolved", "a b>*": "a_b__"} {
		if got := natsx.SubjectToken(in); got != want {
			t.Errorf("SubjectToken(%q) = %q, want %q", in, got, want)
		}
	}
	if got := natsx.SubjectEnriched("agreement", "bloc.cis"); got != "bilat.enriched.agreement.bloc_cis" {
		t.Errorf("SubjectEnriched = %q", got)
	}
}

func TestPublishDeduplicates(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	ack1, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "evt-1", []byte("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ack2, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "evt-1", []byte("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ack1.Duplicate || !ack2.Duplicate || ack1.Sequence != ack2.Sequence {
		t.Fatalf("acks %+v %+v", ack1, ack2)
	}
	if got := n.StreamMsgs(t, natsx.StreamEvents); got != 1 {
		t.Fatalf("stream holds %d messages, want 1", got)
	}
	if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "", []byte("a"), nil); err == nil {
		t.Fatal("empty id accepted")
	}
}

func consumerCfg() natsx.ConsumerConfig {
	return natsx.ConsumerConfig{
		Stream: natsx.StreamEvents, Durable: "test", Stage: "test",
		MaxDeliver: 3, AckWait: 2 * time.Second,
		BackOff: []time.Duration{10 * time.Millisecond},
	}
}

func pending(t *testing.T, n *testenv.NATSServer, durable string) (int, uint64) {
	t.Helper()
	c, err := n.JS.Consumer(context.Background(), natsx.StreamEvents, durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.NumAckPending, info.NumPending
}

func TestConsumeOutcomes(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	var okCalls, flaky, poison, hopeless atomic.Int32
	h := func(_ context.Context, msg jetstream.Msg) error {
		switch string(msg.Data()) {
		case "ok":
			okCalls.Add(1)
			return nil
		case "flaky": // fails twice, then works
			if flaky.Add(1) < 3 {
				return errors.New("redis down")
			}
			return nil
		case "poison":
			poison.Add(1)
			return natsx.Poison(errors.New("bad body"))
		case "panic":
			panic("boom")
		default: // never works: dead-lettered after MaxDeliver
			hopeless.Add(1)
			return errors.New("still down")
		}
	}
	c, err := natsx.Consume(ctx, n.JS, consumerCfg(), h, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(ctx)
	for i, body := range []string{"ok", "flaky", "poison", "panic", "hopeless"} {
		hdr := nats.Header{}
		hdr.Set("traceparent", "00-abc-def-01")
		if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, body+string(rune('0'+i)), []byte(body), hdr); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 10*time.Second, "all messages settled", func() bool {
		ackPending, numPending := pending(t, n, "test")
		return ackPending == 0 && numPending == 0 && n.StreamMsgs(t, natsx.StreamDLQ) == 3
	})
	if okCalls.Load() != 1 || flaky.Load() != 3 || poison.Load() != 1 || hopeless.Load() != 3 {
		t.Fatalf("calls ok=%d flaky=%d poison=%d hopeless=%d", okCalls.Load(), flaky.Load(), poison.Load(), hopeless.Load())
	}
	s, err := n.JS.Stream(ctx, natsx.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "bilat.dlq.test" || m.Header.Get(natsx.HeaderDLQStream) != natsx.StreamEvents || m.Header.Get("traceparent") == "" {
			t.Fatalf("dlq message %d: subject %s headers %v", seq, m.Subject, m.Header)
		}
		reasons[string(m.Data)] = m.Header.Get(natsx.HeaderDLQReason)
	}
	if reasons["poison"] != "bad body" || reasons["panic"] != "handler panic: boom" || reasons["hopeless"] != "gave up after 3 deliveries: still down" {
		t.Fatalf("reasons %q", reasons)
	}
}

func TestStopDrainsInFlight(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	started := make(chan struct{})
	var done atomic.Bool
	c, err := natsx.Consume(ctx, n.JS, consumerCfg(), func(context.Context, jetstream.Msg) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		done.Store(true)
		return nil
	}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "one", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	<-started
	c.Stop(ctx)
	if !done.Load() {
		t.Fatal("Stop returned before the in-flight handler finished")
	}
	// The ack is sent before Stop returns; the server applies it a moment later.
	testenv.Eventually(t, 5*time.Second, "the in-flight message acked", func() bool {
		ackPending, numPending := pending(t, n, "test")
		return ackPending == 0 && numPending == 0
	})
}

func TestEnsureStreamsIdempotentAndDurableConsumerSurvivesRestart(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{DuplicateWindow: time.Minute})
	n.EnsureStreams(t, natsx.StreamsConfig{DuplicateWindow: time.Minute})
	ctx := context.Background()
	if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventTrade, "t1", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	n.Restart(t)
	testenv.Eventually(t, 10*time.Second, "reconnect", n.Conn.IsConnected)
	if got := n.StreamMsgs(t, natsx.StreamEvents); got != 1 {
		t.Fatalf("after restart the stream holds %d messages, want 1 (file storage)", got)
	}
}
