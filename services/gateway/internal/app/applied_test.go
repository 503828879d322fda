package app

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
)

// The floor follows the statistics consumer's acks on a real JetStream;
// a wait that gives up remembers where, and no wait is needed without a
// statistics consumer.
func TestAppliedFloorFollowsStatisticsAcks(t *testing.T) {
	n := testenv.NATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := natsx.EnsureStreams(ctx, n.JS, natsx.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := n.JS.Publish(ctx, "bilat.enriched.agreement.GE", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	f := newAppliedFloor(n.JS)
	f.await(ctx, 5) // no statistics consumer: returns at once
	if got := f.floor.Load(); got != 0 {
		t.Fatalf("floor without a consumer = %d", got)
	}

	cons, err := n.JS.CreateOrUpdateConsumer(ctx, natsx.StreamEnriched, jetstream.ConsumerConfig{
		Durable: natsx.DurableStatistics, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	ack := func(k int) {
		t.Helper()
		batch, err := cons.Fetch(k)
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	ack(2)
	f.await(ctx, 3)
	if got := f.floor.Load(); got != 2 {
		t.Fatalf("floor after two acks = %d, want 2", got)
	}

	done := make(chan struct{})
	go func() { defer close(done); f.await(ctx, 5) }()
	ack(2)
	<-done
	if got, stalled := f.floor.Load(), f.stalledAt.Load(); got != 4 || stalled != -1 {
		t.Fatalf("after acking 4: floor %d, stalled at %d", got, stalled)
	}

	f.bound = 50 * time.Millisecond
	f.await(ctx, 6) // message 5 is never acked: the wait gives up
	if got := f.stalledAt.Load(); got != 4 {
		t.Fatalf("stalled at %d, want 4", got)
	}
}
