package natsx_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
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

// The publishes carry the caller's headers and add the message id to a
// header map of their own: a caller may publish the same header with
// several messages.
func TestPublishKeepsCallersHeader(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	hdr := nats.Header{natsx.HeaderTraceparent: {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "one", []byte("1"), hdr); err != nil {
		t.Fatal(err)
	}
	_, errs := natsx.PublishAll(ctx, n.JS, []natsx.Outgoing{
		{Subject: natsx.SubjectEventAgreement, MsgID: "two", Data: []byte("2"), Header: hdr},
		{Subject: natsx.SubjectEventAgreement, MsgID: "three", Data: []byte("3"), Header: hdr},
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(hdr) != 1 || hdr.Get(natsx.HeaderMsgID) != "" {
		t.Fatalf("the caller's header changed: %v", hdr)
	}
	s, err := n.JS.Stream(ctx, natsx.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	for seq, id := range map[uint64]string{1: "one", 2: "two", 3: "three"} {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(natsx.HeaderMsgID) != id || m.Header.Get(natsx.HeaderTraceparent) != hdr.Get(natsx.HeaderTraceparent) {
			t.Errorf("#%d: headers %v, want id %s and the traceparent", seq, m.Header, id)
		}
	}
}

func consumerCfg() natsx.ConsumerConfig {
	return natsx.ConsumerConfig{
		Stream: natsx.StreamEvents, Durable: "test", Stage: "test",
		MaxDeliver: 3, AckWait: 2 * time.Second,
		BackOff: []time.Duration{10 * time.Millisecond},
	}
}

// publishKeyed publishes total messages whose Key header cycles through
// keys values; message i carries i.
func publishKeyed(t *testing.T, n *testenv.NATSServer, keys, total int) {
	t.Helper()
	for i := 0; i < total; i++ {
		hdr := nats.Header{}
		hdr.Set("Key", strconv.Itoa(i%keys))
		if _, err := natsx.Publish(context.Background(), n.JS, natsx.SubjectEventAgreement, "w"+strconv.Itoa(i), []byte(strconv.Itoa(i)), hdr); err != nil {
			t.Fatal(err)
		}
	}
}

// awaitHandled waits until seen (guarded by mu) holds want messages and the
// "test" consumer has nothing pending or unacknowledged.
func awaitHandled(t *testing.T, n *testenv.NATSServer, mu *sync.Mutex, seen map[string][]int, want int) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, "all handled and acked", func() bool {
		ackPending, numPending := pending(t, n, "test")
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for _, v := range seen {
			total += len(v)
		}
		return total == want && ackPending == 0 && numPending == 0
	})
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

// A consumer that sets no MaxAckPending gets DefaultMaxAckPending; one
// that sets it keeps its own.
func TestConsumeMaxAckPending(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	nop := func(context.Context, jetstream.Msg) error { return nil }
	for durable, set := range map[string]int{"default": 0, "own": 64} {
		cfg := consumerCfg()
		cfg.Durable, cfg.MaxAckPending = durable, set
		c, err := natsx.Consume(ctx, n.JS, cfg, nop, testenv.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Stop(ctx) })
		info, err := n.JS.Consumer(ctx, natsx.StreamEvents, durable)
		if err != nil {
			t.Fatal(err)
		}
		want := set
		if set == 0 {
			want = natsx.DefaultMaxAckPending
		}
		if got := info.CachedInfo().Config.MaxAckPending; got != want {
			t.Errorf("%s: MaxAckPending %d, want %d", durable, got, want)
		}
	}
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

// With workers, messages of one partition key are handled in stream order,
// one at a time, while different keys run concurrently; every message is
// acked once.
func TestWorkersKeepOrderPerKey(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	const keys, perKey = 6, 40
	var (
		mu        sync.Mutex
		seen      = map[string][]int{}
		busy      = map[string]bool{}
		inFlight  int
		maxFlight int
		overlap   bool
	)
	cfg := consumerCfg()
	cfg.Workers = 4
	cfg.PartitionKey = func(msg jetstream.Msg) string { return msg.Headers().Get("Key") }
	c, err := natsx.Consume(ctx, n.JS, cfg, func(_ context.Context, msg jetstream.Msg) error {
		key := msg.Headers().Get("Key")
		i, _ := strconv.Atoi(string(msg.Data()))
		mu.Lock()
		if busy[key] {
			overlap = true
		}
		busy[key] = true
		inFlight++
		maxFlight = max(maxFlight, inFlight)
		mu.Unlock()
		time.Sleep(time.Duration(i%3) * time.Millisecond)
		mu.Lock()
		seen[key] = append(seen[key], i)
		busy[key] = false
		inFlight--
		mu.Unlock()
		return nil
	}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	publishKeyed(t, n, keys, keys*perKey)
	awaitHandled(t, n, &mu, seen, keys*perKey)
	c.Stop(ctx)
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Fatal("two messages of one key were handled at once")
	}
	for key, got := range seen {
		for j := 1; j < len(got); j++ {
			if got[j] <= got[j-1] {
				t.Fatalf("key %s handled out of order: %v", key, got)
			}
		}
	}
	if maxFlight < 2 {
		t.Fatalf("never more than %d message in flight: workers did not run concurrently", maxFlight)
	}
}

// Stop with workers lets every queued message finish and be acked.
func TestWorkersStopDrains(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	var handled atomic.Int32
	cfg := consumerCfg()
	cfg.Workers = 3
	c, err := natsx.Consume(ctx, n.JS, cfg, func(context.Context, jetstream.Msg) error {
		time.Sleep(5 * time.Millisecond)
		handled.Add(1)
		return nil
	}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, "s"+strconv.Itoa(i), []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 10*time.Second, "some handled", func() bool { return handled.Load() > 5 })
	c.Stop(ctx)
	after := handled.Load()
	time.Sleep(100 * time.Millisecond)
	if handled.Load() != after {
		t.Fatal("a handler ran after Stop returned")
	}
	// Whatever was not fetched before Stop stays in the stream for the next run.
	c2, err := natsx.Consume(ctx, n.JS, cfg, func(context.Context, jetstream.Msg) error {
		handled.Add(1)
		return nil
	}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop(ctx)
	testenv.Eventually(t, 10*time.Second, "all 60 handled exactly once overall", func() bool {
		ackPending, numPending := pending(t, n, "test")
		return ackPending == 0 && numPending == 0
	})
	if got := handled.Load(); got != 60 {
		t.Fatalf("handled %d times, want 60", got)
	}
}

// EnsureStreams leaves a stream alone when nothing changed and updates it
// when a setting does.
func TestEnsureStreamsUpdatesOnlyOnChange(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{DuplicateWindow: time.Minute})
	info := func() *jetstream.StreamInfo {
		s, err := n.JS.Stream(context.Background(), natsx.StreamEvents)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo()
	}
	created := info().Created
	n.EnsureStreams(t, natsx.StreamsConfig{DuplicateWindow: time.Minute})
	if got := info(); got.Config.Duplicates != time.Minute || !got.Created.Equal(created) {
		t.Fatalf("stream changed without a setting change: %+v", got.Config)
	}
	n.EnsureStreams(t, natsx.StreamsConfig{DuplicateWindow: 2 * time.Minute})
	if got := info().Config.Duplicates; got != 2*time.Minute {
		t.Fatalf("duplicate window %v after the update, want 2m", got)
	}
}

// A batch handler's results settle each message like a Handler's: nil
// acks, Poison and a panic dead-letter (a panic only the message causing
// it), other errors retry until MaxDeliver.
func TestBatchOutcomes(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	var mu sync.Mutex
	calls := map[string]int{}
	var maxBatch atomic.Int32
	cfg := consumerCfg()
	cfg.BatchSize = 8
	cfg.HandleBatch = func(_ context.Context, msgs []jetstream.Msg) []error {
		if int32(len(msgs)) > maxBatch.Load() {
			maxBatch.Store(int32(len(msgs)))
		}
		errs := make([]error, len(msgs))
		for i, msg := range msgs {
			body := string(msg.Data())
			mu.Lock()
			calls[body]++
			c := calls[body]
			mu.Unlock()
			switch body {
			case "ok", "ok2", "ok3":
			case "flaky":
				if c < 3 {
					errs[i] = errors.New("redis down")
				}
			case "poison":
				errs[i] = natsx.Poison(errors.New("bad body"))
			case "panic":
				panic("boom")
			default:
				errs[i] = errors.New("still down")
			}
		}
		return errs
	}
	// Publish before consuming so the first batch holds several messages.
	for i, body := range []string{"ok", "flaky", "poison", "ok2", "panic", "hopeless", "ok3"} {
		if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, body+strconv.Itoa(i), []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	c, err := natsx.Consume(ctx, n.JS, cfg, nil, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(ctx)
	testenv.Eventually(t, 10*time.Second, "all messages settled", func() bool {
		ackPending, numPending := pending(t, n, "test")
		return ackPending == 0 && numPending == 0 && n.StreamMsgs(t, natsx.StreamDLQ) == 3
	})
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
		reasons[string(m.Data)] = m.Header.Get(natsx.HeaderDLQReason)
	}
	if reasons["poison"] != "bad body" || reasons["panic"] != "handler panic: boom" || reasons["hopeless"] != "gave up after 3 deliveries: still down" {
		t.Fatalf("reasons %q", reasons)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["flaky"] != 3 || calls["hopeless"] != 3 || calls["ok3"] < 1 {
		t.Fatalf("calls %v", calls)
	}
	if maxBatch.Load() < 2 {
		t.Fatalf("largest batch %d: waiting messages were not batched", maxBatch.Load())
	}
}

// With a batch handler and workers, messages of one key stay in stream
// order and on one worker, and every message is acked once.
func TestBatchWorkersKeepOrderPerKey(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	const keys, perKey = 6, 40
	var (
		mu       sync.Mutex
		seen     = map[string][]int{}
		busy     = map[string]bool{}
		overlap  bool
		maxBatch int
	)
	publishKeyed(t, n, keys, keys*perKey)
	cfg := consumerCfg()
	cfg.Workers = 3
	cfg.BatchSize = 16
	cfg.PartitionKey = func(msg jetstream.Msg) string { return msg.Headers().Get("Key") }
	cfg.HandleBatch = func(_ context.Context, msgs []jetstream.Msg) []error {
		mu.Lock()
		maxBatch = max(maxBatch, len(msgs))
		ks := map[string]bool{}
		for _, msg := range msgs {
			key := msg.Headers().Get("Key")
			if busy[key] && !ks[key] {
				overlap = true
			}
			ks[key] = true
			busy[key] = true
		}
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		for _, msg := range msgs {
			key := msg.Headers().Get("Key")
			i, _ := strconv.Atoi(string(msg.Data()))
			seen[key] = append(seen[key], i)
			busy[key] = false
		}
		mu.Unlock()
		return make([]error, len(msgs))
	}
	c, err := natsx.Consume(ctx, n.JS, cfg, nil, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	awaitHandled(t, n, &mu, seen, keys*perKey)
	c.Stop(ctx)
	mu.Lock()
	defer mu.Unlock()
	if overlap {
		t.Fatal("two batches holding one key were handled at once")
	}
	for key, got := range seen {
		if len(got) != perKey {
			t.Fatalf("key %s handled %d times, want %d", key, len(got), perKey)
		}
		for j := 1; j < len(got); j++ {
			if got[j] <= got[j-1] {
				t.Fatalf("key %s handled out of order: %v", key, got)
			}
		}
	}
	if maxBatch < 2 || maxBatch > 16 {
		t.Fatalf("largest batch %d, want 2..16", maxBatch)
	}
}
