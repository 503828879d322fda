package app

import (
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Subjects of retractions on BILAT_EVENTS and BILAT_ENRICHED. A retraction
// names only a record id, so there is nothing to resolve: it is passed on
// with envelope.sequence set, which orders it against the record's versions.
const (
	subjectEventAgreementRetracted    = "bilat.events.agreement.retracted"
	subjectEventTradeRetracted        = "bilat.events.trade_figure.retracted"
	subjectEnrichedAgreementRetracted = "bilat.enriched.agreement.retracted"
	subjectEnrichedTradeRetracted     = "bilat.enriched.trade_figure.retracted"
)

func isRetraction(subject string) bool {
	return subject == subjectEventAgreementRetracted || subject == subjectEventTradeRetracted
}

// retraction is the BILAT_ENRICHED message that passes a retraction event
// on unchanged (besides its envelope's sequence and trace context).
func (s *Service) retraction(ev Event) (Message, error) {
	var (
		msg     proto.Message
		env     **bilatv1.Envelope
		subject string
		id      func() string
	)
	if ev.Subject == subjectEventAgreementRetracted {
		m := &bilatv1.AgreementRetracted{}
		msg, env, subject, id = m, &m.Envelope, subjectEnrichedAgreementRetracted, m.GetAgreementId
	} else {
		m := &bilatv1.TradeFigureRetracted{}
		msg, env, subject, id = m, &m.Envelope, subjectEnrichedTradeRetracted, m.GetFigureId
	}
	if err := proto.Unmarshal(ev.Data, msg); err != nil {
		return Message{}, permanent("decode %s: %v", msg.ProtoReflect().Descriptor().FullName(), err)
	}
	if id() == "" {
		return Message{}, permanent("%s names no record", msg.ProtoReflect().Descriptor().FullName())
	}
	if *env == nil {
		*env = &bilatv1.Envelope{}
	}
	e := *env
	if e.EventId == "" {
		if ev.MsgID == "" {
			return Message{}, permanent("event has no envelope.event_id and no Nats-Msg-Id")
		}
		e.EventId = ev.MsgID
	}
	if e.Traceparent == "" {
		e.Traceparent, e.Tracestate = ev.Traceparent, ev.Tracestate
	}
	e.Sequence = ev.StreamSequence
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return Message{}, permanent("encode retraction: %v", err)
	}
	hdr := map[string]string{natsx.HeaderEventType: string(msg.ProtoReflect().Descriptor().FullName())}
	if e.Traceparent != "" {
		hdr[natsx.HeaderTraceparent] = e.Traceparent
	}
	if e.Tracestate != "" {
		hdr[natsx.HeaderTracestate] = e.Tracestate
	}
	s.log.Debug("passing retraction", "event_id", e.EventId, "record_id", id(), "seq", ev.StreamSequence)
	return Message{Subject: subject, MsgID: e.EventId, Data: data, Headers: hdr}, nil
}
