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
