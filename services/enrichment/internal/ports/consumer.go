// Package ports connects the app to the outside: the JetStream consumer
// handler and the GazetteerService gRPC handlers.
package ports

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/wirefield"
	bilatv1 "bilat.dev/proto/bilat/v1"
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
		// Each event waits on a PubAck; workers overlap them. Events of one
		// record stay on one worker in stream order, so BILAT_ENRICHED
		// carries a record's versions in the order they were recorded; the
		// KV updates are compare-and-set.
		Workers:      8,
		PartitionKey: RecordKey,
	}
}

// EventHandler adapts the app to natsx.Consume: permanent failures become
// poison (dead-lettered with the reason), others are retried.
func EventHandler(svc *app.Service) natsx.Handler {
	batch := BatchHandler(svc)
	return func(ctx context.Context, msg jetstream.Msg) error {
		return batch(ctx, []jetstream.Msg{msg})[0]
	}
}

// BatchHandler is EventHandler for natsx.ConsumerConfig.HandleBatch: the
// waiting events of one worker are enriched and published together
// (app.Service.HandleBatch), and each is acked, retried or dead-lettered
// by its own result.
func BatchHandler(svc *app.Service) natsx.BatchHandler {
	return func(ctx context.Context, msgs []jetstream.Msg) []error {
		out := make([]error, len(msgs))
		evs := make([]app.Event, 0, len(msgs))
		at := make([]int, 0, len(msgs))
		for i, msg := range msgs {
			meta := natsx.Meta(msg)
			if meta == nil {
				out[i] = natsx.Poison(errors.New("message has no JetStream metadata"))
				continue
			}
			h := msg.Headers()
			evs = append(evs, app.Event{
				Subject:        msg.Subject(),
				Data:           msg.Data(),
				MsgID:          h.Get(natsx.HeaderMsgID),
				Traceparent:    h.Get(natsx.HeaderTraceparent),
				Tracestate:     h.Get(natsx.HeaderTracestate),
				StreamSequence: meta.Sequence.Stream,
			})
			at = append(at, i)
		}
		for n, err := range svc.HandleBatch(ctx, evs) {
			switch {
			case errors.Is(err, app.ErrPermanent):
				out[at[n]] = natsx.Poison(err)
			case err != nil:
				out[at[n]] = fmt.Errorf("enrich seq %d: %w", evs[n].StreamSequence, err)
			}
		}
		return out
	}
}

// RecordKey names the record an event is about ("agreement/<id>",
// "trade_figure/<id>"); an undecodable body gets "" (it is dead-lettered).
//
// Every message is keyed before it is handled, so the id is read from the
// wire format without decoding the event (which the handler does anyway):
// decoding it here took more of enrichment's CPU than the handler's own
// decoding.
func RecordKey(msg jetstream.Msg) string {
	// bilat.events.<type>.<action>: the last two tokens name the event.
	subject := msg.Subject()
	if strings.Count(subject, ".") != 3 {
		return ""
	}
	_, rest, _ := strings.Cut(subject, ".")
	_, event, _ := strings.Cut(rest, ".")
	path, ok := idPaths[event]
	if !ok {
		return ""
	}
	id, ok := wirefield.String(msg.Data(), path)
	if !ok || id == "" {
		return ""
	}
	typ, _, _ := strings.Cut(event, ".")
	return typ + "/" + id
}

// idPaths are the field numbers leading to each event's record id, read
// from the messages' descriptors.
var idPaths = map[string][]protowire.Number{
	"agreement.recorded":     wirefield.Path(&bilatv1.AgreementRecorded{}, "agreement", "id"),
	"trade_figure.recorded":  wirefield.Path(&bilatv1.TradeFigureRecorded{}, "figure", "id"),
	"agreement.retracted":    wirefield.Path(&bilatv1.AgreementRetracted{}, "agreement_id"),
	"trade_figure.retracted": wirefield.Path(&bilatv1.TradeFigureRetracted{}, "figure_id"),
}
