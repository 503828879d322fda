// Package ports connects the app to the outside: the JetStream consumer
// handler and the GazetteerService gRPC handlers.
package ports

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
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
func RecordKey(msg jetstream.Msg) string {
	parts := strings.Split(msg.Subject(), ".")
	if len(parts) != 4 {
		return ""
	}
	var id string
	switch parts[2] + "." + parts[3] {
	case "agreement.recorded":
		var ev bilatv1.AgreementRecorded
		if proto.Unmarshal(msg.Data(), &ev) == nil {
			id = ev.GetAgreement().GetId()
		}
	case "trade_figure.recorded":
		var ev bilatv1.TradeFigureRecorded
		if proto.Unmarshal(msg.Data(), &ev) == nil {
			id = ev.GetFigure().GetId()
		}
	case "agreement.retracted":
		var ev bilatv1.AgreementRetracted
		if proto.Unmarshal(msg.Data(), &ev) == nil {
			id = ev.GetAgreementId()
		}
	case "trade_figure.retracted":
		var ev bilatv1.TradeFigureRetracted
		if proto.Unmarshal(msg.Data(), &ev) == nil {
			id = ev.GetFigureId()
		}
	}
	if id == "" {
		return ""
	}
	return parts[2] + "/" + id
}
