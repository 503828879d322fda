package ports

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"slices"
	"strings"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	"bilat.dev/services/ingest/internal/app"
	"bilat.dev/services/ingest/internal/domain"
)

// Headers of the raw door besides natsx's.
const (
	headerContentType = "Content-Type"
	headerCEID        = "ce-id"
	headerCEIDAlt     = "ce_id"
	headerCETime      = "ce-time"
	headerCETimeAlt   = "ce_time"
)

// DoorConsumerConfig is the durable consumer of the raw publisher door.
// It takes every subject of the stream so that unknown ones are
// dead-lettered rather than left unread.
func DoorConsumerConfig() natsx.ConsumerConfig {
	return natsx.ConsumerConfig{
		Stream:  natsx.StreamIngest,
		Durable: "ingest",
		Stage:   "ingest",
		// One worker, in publish order: of two messages with the same key
		// the first wins, and versions of a record keep their order. The
		// messages waiting for it are recorded as one batch
		// (Door.HandleBatch), whose events keep that order.
	}
}

// Door handles messages published on bilat.ingest.<type>.
type Door struct {
	svc *app.Service
	log *slog.Logger
}

// NewDoor returns the JetStream door on svc.
func NewDoor(svc *app.Service, log *slog.Logger) *Door { return &Door{svc: svc, log: log} }

// Handle records one raw message. Undecodable and invalid messages are
// poison (dead-lettered with the reason); a failure to record is
// transient and the message is redelivered.
func (d *Door) Handle(ctx context.Context, msg jetstream.Msg) error {
	return d.HandleBatch(ctx, []jetstream.Msg{msg})[0]
}

// HandleBatch records the raw messages waiting for the door together
// (app.Service.SubmitBatch: their events reach the stream in the order of
// the messages), with Handle's answer for each.
func (d *Door) HandleBatch(ctx context.Context, msgs []jetstream.Msg) []error {
	out := make([]error, len(msgs))
	subs := make([]app.Submission, 0, len(msgs))
	at := make([]int, 0, len(msgs))
	for i, msg := range msgs {
		sub, err := decodeDoorMsg(msg)
		if err != nil {
			out[i] = natsx.Poison(err)
			continue
		}
		subs, at = append(subs, sub), append(at, i)
	}
	results, errs := d.svc.SubmitBatch(ctx, subs)
	for n, i := range at {
		subject, recordType := msgs[i].Subject(), domain.TypeAgreement
		if subs[n].Figure != nil {
			recordType = domain.TypeTradeFigure
		}
		res, err := results[n], errs[n]
		observe("jetstream", recordType, res, err)
		if _, ok := app.IsValidation(err); ok {
			out[i] = natsx.Poison(err)
			continue
		}
		if err != nil {
			out[i] = fmt.Errorf("record %s from %s: %w", recordType, subject, err)
			continue
		}
		d.log.Debug("raw message recorded", "subject", subject, "event_id", res.EventID, "record_id", res.RecordID, "duplicate", res.Duplicate)
	}
	return out
}

// decodeDoorMsg reads a raw message into a submission; its errors make the
// message poison.
func decodeDoorMsg(msg jetstream.Msg) (app.Submission, error) {
	subject := msg.Subject()
	hdr := msg.Headers()
	var sub app.Submission
	switch subject {
	case natsx.SubjectIngestAgreement:
		var a bilatv1.Agreement
		if err := DecodeBody(msg.Data(), header(hdr, headerContentType), &a); err != nil {
			return sub, fmt.Errorf("undecodable agreement on %s: %w", subject, err)
		}
		sub.Agreement, sub.Root = &a, "agreement"
	case natsx.SubjectIngestTrade:
		var f bilatv1.TradeFigure
		if err := DecodeBody(msg.Data(), header(hdr, headerContentType), &f); err != nil {
			return sub, fmt.Errorf("undecodable trade figure on %s: %w", subject, err)
		}
		sub.Figure, sub.Root = &f, "trade_figure"
	default:
		return sub, fmt.Errorf("unknown subject %s: publish agreements on %s and trade figures on %s",
			subject, natsx.SubjectIngestAgreement, natsx.SubjectIngestTrade)
	}
	meta, err := doorMeta(subject, hdr)
	if err != nil {
		return sub, err
	}
	sub.Meta = meta
	return sub, nil
}

// DecodeBody decodes a raw door body into m: protojson when the body
// starts with '{' or the content type says JSON, protobuf otherwise.
// Unknown JSON fields are errors, so typos are not silently dropped.
//
// Sniffing alone is ambiguous: a protobuf body can start with '{' after
// bytes that look like white space (an id of 123 characters encodes as
// "\n{..."). So a sniffed body that is not JSON is tried as protobuf
// before giving up, unless the content type declared JSON.
func DecodeBody(data []byte, contentType string, m proto.Message) error {
	declared := declaredJSON(contentType)
	if declared || sniffJSON(data) {
		jerr := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(data, m)
		if jerr == nil {
			return nil
		}
		proto.Reset(m)
		if declared || proto.Unmarshal(data, m) != nil {
			proto.Reset(m)
			return fmt.Errorf("protojson: %w", jerr)
		}
		return nil
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("protobuf: %w", err)
	}
	return nil
}

func sniffJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

func declaredJSON(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// doorMeta reads the envelope facts of a raw message from its headers.
func doorMeta(subject string, hdr nats.Header) (app.Meta, error) {
	key, field := doorKey(hdr)
	m := app.Meta{
		IdempotencyKey: key,
		KeyField:       field,
		Source:         "jetstream:" + subject,
		Traceparent:    header(hdr, natsx.HeaderTraceparent),
		Tracestate:     header(hdr, natsx.HeaderTracestate),
	}
	name, raw := headerAny(hdr, headerCETime, headerCETimeAlt)
	if raw != "" {
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return app.Meta{}, fmt.Errorf("header %s %q: not an RFC 3339 time", name, raw)
		}
		m.OccurredAt = t
	}
	return m, nil
}

// doorKey picks the publisher's idempotency key: Nats-Msg-Id, else the
// CloudEvents id (ce-id, or ce_id as some bindings spell it). Empty means
// the content hash will be used. field names the header, for violations.
func doorKey(hdr nats.Header) (key, field string) {
	name, v := headerAny(hdr, natsx.HeaderMsgID, headerCEID, headerCEIDAlt)
	if v == "" {
		return "", ""
	}
	return v, "header " + name
}

func headerAny(hdr nats.Header, names ...string) (string, string) {
	for _, n := range names {
		if v := header(hdr, n); v != "" {
			return n, v
		}
	}
	return "", ""
}

// header returns the first value of name. NATS headers are case
// sensitive, but publishers and bridges vary in spelling, so any case is
// accepted.
func header(hdr nats.Header, name string) string {
	if vs := hdr[name]; len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
		return strings.TrimSpace(vs[0])
	}
	// Sorted so that differently-cased duplicates resolve the same way every time.
	for _, k := range slices.Sorted(maps.Keys(hdr)) {
		if vs := hdr[k]; strings.EqualFold(k, name) && len(vs) > 0 && strings.TrimSpace(vs[0]) != "" {
			return strings.TrimSpace(vs[0])
		}
	}
	return ""
}
