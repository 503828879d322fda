package natsx

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TailMsg is one stream message seen by Tail.
type TailMsg struct {
	// Seq is the message's sequence in the stream: the position a
	// subscriber resumes after.
	Seq     uint64
	Subject string
	Data    []byte
	Header  nats.Header
	// Time is when the stream stored the message.
	Time time.Time
}

// ErrPositionExpired is returned (wrapped) by Tail when startSeq is older
// than the first message the stream still holds: the messages in between
// are gone, so resuming there would silently miss changes.
var ErrPositionExpired = errors.New("position no longer held by the stream")

// Tail follows a stream's messages on the given subjects with an ordered
// consumer (ephemeral, server-side filtered, recreated by the client library
// after a reconnect without gaps or repeats) and calls fn for each, in
// stream order. startSeq 0 delivers only messages stored after the call;
// n > 0 delivers from sequence n inclusive, and fails with
// ErrPositionExpired when n is older than the stream's first message. Tail
// returns ctx.Err() when ctx ends and fn's error (unwrapped) when it fails.
func Tail(ctx context.Context, js jetstream.JetStream, stream string, filters []string, startSeq uint64, fn func(TailMsg) error) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: filters,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		// Tail readers are interactive subscribers: a consumer orphaned by a
		// crashed gateway is cleaned up quickly by the server.
		InactiveThreshold: time.Minute,
	}
	if startSeq > 0 {
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return fmt.Errorf("tail %s: stream info: %w", stream, err)
		}
		first := st.CachedInfo().State.FirstSeq
		if first > 0 && startSeq < first {
			return fmt.Errorf("tail %s from %d: %w (first held is %d)", stream, startSeq, ErrPositionExpired, first)
		}
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = startSeq
	}
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("tail %s: ordered consumer: %w", stream, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("tail %s: messages: %w", stream, err)
	}
	defer it.Stop()
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("tail %s: next: %w", stream, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("tail %s: metadata: %w", stream, err)
		}
		if err := fn(TailMsg{
			Seq:     md.Sequence.Stream,
			Subject: msg.Subject(),
			Data:    msg.Data(),
			Header:  msg.Headers(),
			Time:    md.Timestamp,
		}); err != nil {
			return err
		}
	}
}

// positionVersion prefixes encoded positions so their format can change.
const positionVersion = "p1"

// EncodePosition makes an opaque, URL-safe position for a stream sequence.
// The stream name is part of it so a position of one stream is never
// taken for another's.
func EncodePosition(stream string, seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(positionVersion + "|" + stream + "|" + strconv.FormatUint(seq, 10)))
}

// DecodePosition returns the sequence of a position made by EncodePosition
// for the same stream.
func DecodePosition(stream, pos string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(pos)
	if err != nil {
		return 0, errors.New("position is not valid base64url")
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || parts[0] != positionVersion {
		return 0, errors.New("position is malformed")
	}
	if parts[1] != stream {
		return 0, fmt.Errorf("position belongs to another stream (%q)", parts[1])
	}
	seq, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil || seq == 0 {
		return 0, errors.New("position has an invalid sequence")
	}
	return seq, nil
}
