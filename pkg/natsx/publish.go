package natsx

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publish stores data on subject with msgID as Nats-Msg-Id and returns the
// stream's PubAck. It retries transient failures until ctx ends, which is
// safe because the id makes retries idempotent within the duplicate window.
// ack.Duplicate reports that the stream already held this id.
func Publish(ctx context.Context, js jetstream.JetStream, subject, msgID string, data []byte, hdr nats.Header) (*jetstream.PubAck, error) {
	if msgID == "" {
		return nil, fmt.Errorf("publish %s: empty message id", subject)
	}
	msg := outgoing(subject, data, hdr)
	var ack *jetstream.PubAck
	err := retry(ctx, func() error {
		var err error
		ack, err = js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("publish %s (id %s): %w", subject, msgID, err)
	}
	countPublished(ack)
	return ack, nil
}

// outgoing is a message with its own header map, so that the Nats-Msg-Id
// the publish sets does not land in the caller's. The values are shared:
// the publish only sets keys of its own, it never appends to a value.
func outgoing(subject string, data []byte, hdr nats.Header) *nats.Msg {
	h := make(nats.Header, len(hdr)+1)
	for k, v := range hdr {
		h[k] = v
	}
	return &nats.Msg{Subject: subject, Data: data, Header: h}
}

func countPublished(ack *jetstream.PubAck) {
	metricPublished.WithLabelValues(ack.Stream, strconv.FormatBool(ack.Duplicate)).Inc()
}

// AsyncAckTimeout bounds the wait for the PubAck of an asynchronous
// publish (PublishAll, and the JetStream contexts Connect makes).
const AsyncAckTimeout = 5 * time.Second

// Outgoing is one message of PublishAll.
type Outgoing struct {
	Subject string
	MsgID   string
	Data    []byte
	Header  nats.Header
}

// PublishAll stores msgs in order with one wait for all their PubAcks
// (asynchronous publishes on one connection reach the stream in the order
// they were sent), and returns one PubAck or error per message. A message
// whose asynchronous publish failed is published again on its own, with
// Publish's retries; its id keeps that idempotent.
func PublishAll(ctx context.Context, js jetstream.JetStream, msgs []Outgoing) ([]*jetstream.PubAck, []error) {
	acks := make([]*jetstream.PubAck, len(msgs))
	errs := make([]error, len(msgs))
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		if m.MsgID == "" {
			errs[i] = fmt.Errorf("publish %s: empty message id", m.Subject)
			continue
		}
		futures[i], errs[i] = js.PublishMsgAsync(outgoing(m.Subject, m.Data, m.Header), jetstream.WithMsgID(m.MsgID))
	}
	// A PubAck that does not come within AsyncAckTimeout is given up on
	// (the publish is repeated below), so one lost acknowledgement does
	// not hold a consumer's worker, and the messages queued behind it,
	// until the handler's deadline.
	waitCtx, cancel := context.WithTimeout(ctx, AsyncAckTimeout)
	defer cancel()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			acks[i] = ack
			countPublished(ack)
		case err := <-f.Err():
			errs[i] = err
		case <-waitCtx.Done():
			errs[i] = jetstream.ErrAsyncPublishTimeout
		}
	}
	for i, m := range msgs {
		if errs[i] == nil || m.MsgID == "" {
			continue
		}
		acks[i], errs[i] = Publish(ctx, js, m.Subject, m.MsgID, m.Data, m.Header)
	}
	return acks, errs
}
