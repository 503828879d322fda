// Package adapters implements the app's ports on JetStream and the file
// system.
package adapters

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/services/enrichment/internal/app"
)

// EnrichedPublisher stores enriched events in BILAT_ENRICHED.
type EnrichedPublisher struct {
	js jetstream.JetStream
}

// NewEnrichedPublisher returns a publisher on js.
func NewEnrichedPublisher(js jetstream.JetStream) *EnrichedPublisher {
	return &EnrichedPublisher{js: js}
}

// Publish waits for the PubAck; a duplicate (same event id within the
// stream's window) is already stored and counts as success.
func (p *EnrichedPublisher) Publish(ctx context.Context, m app.Message) error {
	hdr := nats.Header{}
	for k, v := range m.Headers {
		hdr.Set(k, v)
	}
	ack, err := natsx.Publish(ctx, p.js, m.Subject, m.MsgID, m.Data, hdr)
	if err != nil {
		return err
	}
	if ack.Stream != natsx.StreamEnriched {
		return fmt.Errorf("publish %s: stored in stream %s, want %s", m.Subject, ack.Stream, natsx.StreamEnriched)
	}
	return nil
}

// PublishAll stores ms in order with one wait for their PubAcks.
func (p *EnrichedPublisher) PublishAll(ctx context.Context, ms []app.Message) []error {
	outs := make([]natsx.Outgoing, len(ms))
	for i, m := range ms {
		hdr := nats.Header{}
		for k, v := range m.Headers {
			hdr.Set(k, v)
		}
		outs[i] = natsx.Outgoing{Subject: m.Subject, MsgID: m.MsgID, Data: m.Data, Header: hdr}
	}
	acks, errs := natsx.PublishAll(ctx, p.js, outs)
	for i, ack := range acks {
		if errs[i] == nil && ack.Stream != natsx.StreamEnriched {
			errs[i] = fmt.Errorf("publish %s: stored in stream %s, want %s", ms[i].Subject, ack.Stream, natsx.StreamEnriched)
		}
	}
	return errs
}
