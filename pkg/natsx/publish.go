package natsx

import (
	"context"
	"fmt"

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
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	for k, v := range hdr {
		msg.Header[k] = append([]string(nil), v...)
	}
	var ack *jetstream.PubAck
	err := retry(ctx, func() error {
		var err error
		ack, err = js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("publish %s (id %s): %w", subject, msgID, err)
	}
	metricPublished.WithLabelValues(ack.Stream, fmt.Sprint(ack.Duplicate)).Inc()
	return ack, nil
}
