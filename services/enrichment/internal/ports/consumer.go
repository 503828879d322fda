// Package ports connects the app to the outside: the JetStream consumer
// handler and the GazetteerService gRPC handlers.
package ports

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/services/enrichment/internal/app"
)

// Consumer settings of the enrichment stage.
const (
	Durable = "enrichment"
	Stage   = "enrichment"
)

// ConsumerConfig is the durable consumer enrichment reads BILAT_EVENTS with.
func ConsumerConfig() natsx.ConsumerConfig {
	return natsx.ConsumerConfig{
		Stream:         natsx.StreamEvents,
		Durable:        Durable,
		Stage:          Stage,
		FilterSubjects: []string{"bilat.events.>"},
		// Each event waits on a PubAck; workers overlap them. Order does not
		// matter here: statistics orders versions by their BILAT_EVENTS
		// sequence, and the KV updates are compare-and-set.
		Workers: 8,
	}
}

// EventHandler adapts the app to natsx.Consume: permanent failures become
// poison (dead-lettered with the reason), others are retried.
func EventHandler(svc *app.Service) natsx.Handler {
	return func(ctx context.Context, msg jetstream.Msg) error {
		meta := natsx.Meta(msg)
		if meta == nil {
			return natsx.Poison(errors.New("message has no JetStream metadata"))
		}
		h := msg.Headers()
		err := svc.Handle(ctx, app.Event{
			Subject:        msg.Subject(),
			Data:           msg.Data(),
			MsgID:          h.Get(natsx.HeaderMsgID),
			Traceparent:    h.Get(natsx.HeaderTraceparent),
			Tracestate:     h.Get(natsx.HeaderTracestate),
			StreamSequence: meta.Sequence.Stream,
		})
		if errors.Is(err, app.ErrPermanent) {
			return natsx.Poison(err)
		}
		if err != nil {
			return fmt.Errorf("enrich seq %d: %w", meta.Sequence.Stream, err)
		}
		return nil
	}
}
