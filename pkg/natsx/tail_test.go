package natsx_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
)

func TestPositionRoundTrip(t *testing.T) {
	pos := natsx.EncodePosition(natsx.StreamEnriched, 42)
	seq, err := natsx.DecodePosition(natsx.StreamEnriched, pos)
	if err != nil || seq != 42 {
		t.Fatalf("DecodePosition = %d, %v", seq, err)
	}
	if _, err := natsx.DecodePosition(natsx.StreamEvents, pos); err == nil {
		t.Fatal("position of another stream accepted")
	}
	for _, bad := range []string{"", "!!", "eA", natsx.EncodePosition(natsx.StreamEnriched, 0)} {
		if _, err := natsx.DecodePosition(natsx.StreamEnriched, bad); err == nil {
			t.Errorf("DecodePosition(%q) accepted", bad)
		}
	}
}

// tailCollect runs Tail in the background and returns a function that
// waits for n messages, then stops the tail and returns what it got.
func tailCollect(t *testing.T, js jetstream.JetStream, filters []string, start uint64) (wait func(n int) []natsx.TailMsg) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []natsx.TailMsg
	done := make(chan error, 1)
	go func() {
		done <- natsx.Tail(ctx, js, natsx.StreamEvents, filters, start, func(m natsx.TailMsg) error {
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(cancel)
	return func(n int) []natsx.TailMsg {
		testenv.Eventually(t, 10*time.Second, fmt.Sprintf("%d tailed messages", n), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) >= n
		})
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Tail returned %v, want context.Canceled", err)
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]natsx.TailMsg(nil), got...)
	}
}

func TestTail(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	pub := func(subject, id string) uint64 {
		t.Helper()
		ack, err := natsx.Publish(ctx, n.JS, subject, id, []byte(id), nil)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	first := pub(natsx.SubjectEventAgreement, "a1")
	pub(natsx.SubjectEventTrade, "t1")
	third := pub(natsx.SubjectEventAgreement, "a2")

	// From a sequence, filtered: the agreement messages only, in order.
	got := tailCollect(t, n.JS, []string{natsx.SubjectEventAgreement}, first)(2)
	if len(got) != 2 || got[0].Seq != first || got[1].Seq != third || string(got[1].Data) != "a2" ||
		got[0].Subject != natsx.SubjectEventAgreement || got[0].Time.IsZero() || got[0].Header.Get(natsx.HeaderMsgID) != "a1" {
		t.Fatalf("tail from %d: %+v", first, got)
	}

	// From now: only messages published after the call. The consumer is
	// created asynchronously, so keep publishing until the tail sees one.
	ctxNow, cancelNow := context.WithCancel(ctx)
	var seen []natsx.TailMsg
	errNow := make(chan error, 1)
	go func() {
		errNow <- natsx.Tail(ctxNow, n.JS, natsx.StreamEvents, []string{"bilat.events.>"}, 0, func(m natsx.TailMsg) error {
			seen = append(seen, m)
			cancelNow()
			return nil
		})
	}()
	for i := 0; ; i++ {
		pub(natsx.SubjectEventTrade, fmt.Sprintf("new-%d", i))
		select {
		case err := <-errNow:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Tail = %v", err)
			}
		case <-time.After(50 * time.Millisecond):
			continue
		}
		break
	}
	if len(seen) == 0 || seen[0].Seq <= third {
		t.Fatalf("tail from now delivered %+v", seen)
	}

	// fn's error ends the tail and is returned as it is.
	stop := errors.New("stop")
	err := natsx.Tail(ctx, n.JS, natsx.StreamEvents, nil, 1, func(natsx.TailMsg) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("Tail = %v, want fn's error", err)
	}
}

func TestTailExpiredPosition(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	for i := range 5 {
		if _, err := natsx.Publish(ctx, n.JS, natsx.SubjectEventAgreement, fmt.Sprint("e", i), []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}
	st, err := n.JS.Stream(ctx, natsx.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	// Drop everything before sequence 4, as a retention limit would.
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(4)); err != nil {
		t.Fatal(err)
	}
	err = natsx.Tail(ctx, n.JS, natsx.StreamEvents, nil, 2, func(natsx.TailMsg) error { return nil })
	if !errors.Is(err, natsx.ErrPositionExpired) {
		t.Fatalf("Tail from a purged sequence = %v, want ErrPositionExpired", err)
	}
	got := tailCollect(t, n.JS, nil, 4)(2)
	if got[0].Seq != 4 || got[1].Seq != 5 {
		t.Fatalf("tail from first held: %+v", got)
	}
}
