package app

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
)

// appliedFloor follows how far statistics has applied BILAT_ENRICHED (its
// durable consumer's ack floor). The watches read the projections about
// the events they stream — an agreement's earlier versions, a partner's
// previous year — and those answers are complete only once statistics has
// applied every event before the one in hand.
type appliedFloor struct {
	js jetstream.JetStream
	// floor is the highest ack floor seen.
	floor atomic.Uint64
	// stalledAt is the floor at which the last wait gave up (-1: none).
	stalledAt atomic.Int64
	// bound limits one wait.
	bound time.Duration
}

func newAppliedFloor(js jetstream.JetStream) *appliedFloor {
	f := &appliedFloor{js: js, bound: 2 * time.Second}
	f.stalledAt.Store(-1)
	return f
}

// await returns once statistics has applied every event before seq, or
// after a bounded wait: with statistics down or far behind, the caller
// answers from what the projections hold, and later events do not wait
// again until the floor moves.
func (f *appliedFloor) await(ctx context.Context, seq uint64) {
	if f.floor.Load()+1 >= seq {
		return
	}
	cons, err := f.js.Consumer(ctx, natsx.StreamEnriched, natsx.DurableStatistics)
	if err != nil {
		return // no statistics consumer yet: nothing has been applied
	}
	deadline := time.NewTimer(f.bound)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			return
		}
		floor := info.AckFloor.Stream
		for cur := f.floor.Load(); floor > cur && !f.floor.CompareAndSwap(cur, floor); cur = f.floor.Load() {
		}
		if floor+1 >= seq || f.stalledAt.Load() == int64(floor) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			f.stalledAt.Store(int64(floor))
			return
		case <-tick.C:
		}
	}
}
