package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

// tradeSubjects are the enriched trade figure subjects
// (bilat.enriched.trade_figure.<partner token>; pkg/natsx/topology.go).
const tradeSubjects = "bilat.enriched.trade_figure.>"

// retractedToken ends the subject of trade retractions, which carry no figure.
const retractedToken = "retracted"

// Alerts answers TradeService.WatchTradeAlerts: it follows BILAT_ENRICHED
// and compares each new figure with the best value a year earlier.
type Alerts struct {
	js  jetstream.JetStream
	st  TradeStats
	log *slog.Logger
	// applied: the previous year's value is asked of statistics only once
	// it has applied every event before the figure.
	applied *appliedFloor
}

// NewAlerts returns the alert watcher over the JetStream context and
// StatisticsService.
func NewAlerts(js jetstream.JetStream, st TradeStats, log *slog.Logger) *Alerts {
	return &Alerts{js: js, st: st, log: log, applied: newAppliedFloor(js)}
}

// WatchTradeAlerts calls send with an alert for every qualifying figure
// until ctx ends or send fails. It returns an error matching
// natsx.ErrPositionExpired when after_position is no longer in the stream.
//
// Fire once per qualifying figure: enrichment republishes an event as a new
// enrichment version (envelope.enrichment_version > 0, same
// envelope.sequence) after an operator's alias changed how one of its names
// resolves. Such a version fires only when its partner differs from the
// previous version's partner: then the figure is new to that partner
// (typically it was unresolved before). Otherwise the figure and its value
// are the ones already judged, whatever the previous verdict was.
func (a *Alerts) WatchTradeAlerts(ctx context.Context, q domain.AlertQuery, send func(*bilatv1.WatchTradeAlertsResponse) error) error {
	vs := domain.ValidateAlerts(q)
	var start uint64
	if q.AfterPosition != "" {
		seq, err := natsx.DecodePosition(natsx.StreamEnriched, q.AfterPosition)
		if err != nil {
			vs = append(vs, domain.Violation{Field: "after_position", Description: "must be a position from an earlier alert: " + err.Error()})
		}
		start = seq + 1
	}
	if err := violationsErr(vs); err != nil {
		return err
	}
	filters := []string{tradeSubjects}
	watched := map[string]bool{}
	if len(q.Partners) > 0 {
		filters = filters[:0]
		for _, p := range q.Partners {
			watched[p] = true
			filters = append(filters, natsx.SubjectEnriched("trade_figure", p))
		}
	}
	if start == 0 && q.Start == bilatv1.WatchStart_WATCH_START_BEGINNING {
		first, err := a.firstSeq(ctx)
		if err != nil {
			return err
		}
		start = first
	}
	w := &alertWatch{ctx: ctx, a: a, q: q, watched: watched, send: send, versions: map[uint64]versionSeen{}}
	return natsx.Tail(ctx, a.js, natsx.StreamEnriched, filters, start, w.handle)
}

// firstSeq is the first sequence BILAT_ENRICHED still holds.
func (a *Alerts) firstSeq(ctx context.Context) (uint64, error) {
	st, err := a.js.Stream(ctx, natsx.StreamEnriched)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", natsx.StreamEnriched, err)
	}
	return max(st.CachedInfo().State.FirstSeq, 1), nil
}

// maxRemembered bounds the versions a watch remembers.
const maxRemembered = 100_000

// versionSeen is the latest enrichment version of an event this watch saw.
type versionSeen struct {
	version uint32
	partner string
}

type alertWatch struct {
	ctx     context.Context
	a       *Alerts
	q       domain.AlertQuery
	watched map[string]bool
	send    func(*bilatv1.WatchTradeAlertsResponse) error
	// versions remembers, per BILAT_EVENTS sequence, the latest version
	// seen, so the re-enrichment rule rarely needs to look back in the stream.
	versions map[uint64]versionSeen
}

func (w *alertWatch) handle(m natsx.TailMsg) error {
	if strings.HasSuffix(m.Subject, "."+retractedToken) {
		return nil
	}
	ev := &bilatv1.TradeFigureRecorded{}
	if err := proto.Unmarshal(m.Data, ev); err != nil {
		// Statistics dead-letters such a message; a watch just passes it.
		w.a.log.Warn("alerts: undecodable enriched trade figure", "seq", m.Seq, "subject", m.Subject, "err", err)
		return nil
	}
	fig, env := ev.GetFigure(), ev.GetEnvelope()
	usd, ok := domain.AlertCandidate(w.q, w.watched, fig)
	partner := fig.GetPartner().GetCode()
	if env.GetSequence() > 0 {
		prev, seen := w.versions[env.GetSequence()]
		if seen && prev.version >= env.GetEnrichmentVersion() {
			return nil // the same version again (a republish): judged already
		}
		if len(w.versions) >= maxRemembered {
			// A very long watch forgets; the look-back below covers it.
			clear(w.versions)
		}
		w.versions[env.GetSequence()] = versionSeen{env.GetEnrichmentVersion(), partner}
		if env.GetEnrichmentVersion() > 0 && ok {
			prevToken, found := natsx.SubjectToken(prev.partner), seen
			if !seen {
				t, ok, err := w.a.previousPartner(w.ctx, m, env)
				if err != nil {
					return err
				}
				prevToken, found = t, ok
			}
			if !found || prevToken == natsx.SubjectToken(partner) {
				return nil
			}
		}
	}
	if !ok {
		return nil
	}
	w.a.applied.await(w.ctx, m.Seq)
	// Bound each question: a stuck statistics call must not hang the watch.
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	prevYear := domain.PreviousPeriod(fig.GetPeriod()).GetYear()
	bal, err := w.a.st.TradeBalance(ctx, &bilatv1.ComputeTradeBalanceRequest{
		Partner: partner, Reporter: fig.GetReporter().GetCode(), FromYear: prevYear, ToYear: prevYear,
	})
	if noFigures(err) {
		// Statistics has not projected the partner's figures yet: no
		// previous value is known, so nothing can be said about a change.
		return nil
	}
	if err != nil {
		return fmt.Errorf("previous year of %s %d: %w", partner, prevYear, err)
	}
	prev, ok := domain.PreviousValue(bal.GetPeriods(), fig)
	if !ok {
		return nil // nothing to compare with: no year-on-year change is known
	}
	change, ok := domain.ChangePct(usd, prev.GetUsd())
	if !ok || !domain.Fires(change, w.q.ThresholdPct) {
		return nil
	}
	return w.send(&bilatv1.WatchTradeAlertsResponse{
		Position:     natsx.EncodePosition(natsx.StreamEnriched, m.Seq),
		Figure:       fig,
		Partner:      partner,
		Reporter:     fig.GetReporter().GetCode(),
		Flow:         fig.GetFlow(),
		Period:       fig.GetPeriod(),
		Usd:          proto.Clone(usd).(*bilatv1.Money),
		PreviousUsd:  prev.GetUsd(),
		ChangePct:    domain.Round2(change),
		ThresholdPct: w.q.ThresholdPct,
	})
}

// previousPartner finds the partner of the latest earlier enrichment
// version of the event m carries, from the subjects of the earlier versions
// in BILAT_ENRICHED. Enrichment publishes version 0 with the event id as
// Nats-Msg-Id and version v with "<event id>-e<v>", after ingest recorded
// the event, so a headers-only scan from the recording time finds them.
// It returns the partner subject token of that version, and false when no
// earlier version is held any more: then whether the partner changed
// cannot be told, and the re-enrichment does not fire (no repeats).
func (a *Alerts) previousPartner(ctx context.Context, m natsx.TailMsg, env *bilatv1.Envelope) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{tradeSubjects},
		HeadersOnly:    true,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if rec := env.GetRecordedAt(); rec != nil {
		// Allow for clock skew between ingest's host and the NATS server.
		t := rec.AsTime().Add(-5 * time.Minute)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	cons, err := a.js.OrderedConsumer(ctx, natsx.StreamEnriched, cfg)
	if err != nil {
		return "", false, fmt.Errorf("look back for versions of %s: %w", env.GetEventId(), err)
	}
	it, err := cons.Messages()
	if err != nil {
		return "", false, fmt.Errorf("look back for versions of %s: %w", env.GetEventId(), err)
	}
	defer it.Stop()
	ids := map[string]bool{env.GetEventId(): true}
	for v := uint32(1); v < env.GetEnrichmentVersion(); v++ {
		ids[env.GetEventId()+"-e"+strconv.FormatUint(uint64(v), 10)] = true
	}
	found, ok := "", false
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return "", false, fmt.Errorf("look back for versions of %s: %w", env.GetEventId(), err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return "", false, fmt.Errorf("look back: metadata: %w", err)
		}
		if md.Sequence.Stream >= m.Seq {
			return found, ok, nil
		}
		if ids[msg.Headers().Get(natsx.HeaderMsgID)] {
			found, ok = msg.Subject()[strings.LastIndexByte(msg.Subject(), '.')+1:], true
		}
	}
}
