package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

// ErrOutOfRange means a watch position is older than the first change the
// event stream still holds: resuming there would miss changes.
var ErrOutOfRange = errors.New("position out of range")

// subjectAgreementRetracted carries every agreement retraction.
const subjectAgreementRetracted = "bilat.enriched.agreement.retracted"

// WatchQuery is a WatchAgreements request.
type WatchQuery struct {
	Filter        *bilatv1.AgreementFilter
	AfterPosition string
	Start         bilatv1.WatchStart
}

// AgreementWatch follows BILAT_ENRICHED and streams the agreement changes
// that pass a filter (the same predicate as ListAgreements).
type AgreementWatch struct {
	js  jetstream.JetStream
	agr *Agreements
	log *slog.Logger
	// applied tells when the revision history holds every event before
	// the one being classified.
	applied *appliedFloor
}

// NewAgreementWatch returns the watch over js (the enriched events) and agr
// (revision history, bloc members).
func NewAgreementWatch(js jetstream.JetStream, agr *Agreements, log *slog.Logger) *AgreementWatch {
	return &AgreementWatch{js: js, agr: agr, log: log, applied: newAppliedFloor(js)}
}

// Watch sends every change matching q until ctx ends (returning ctx's
// error) or send fails. Each response carries the position to resume after.
func (w *AgreementWatch) Watch(ctx context.Context, q WatchQuery, send func(*bilatv1.WatchAgreementsResponse) error) error {
	if q.Filter == nil {
		q.Filter = &bilatv1.AgreementFilter{}
	}
	vs := domain.ValidateAgreementFilter("filter", q.Filter)
	if _, ok := bilatv1.WatchStart_name[int32(q.Start)]; !ok {
		vs = append(vs, domain.Violation{Field: "start", Description: fmt.Sprintf("%d is not a bilat.v1.WatchStart value", q.Start)})
	}
	var after uint64
	if q.AfterPosition != "" {
		seq, err := natsx.DecodePosition(natsx.StreamEnriched, q.AfterPosition)
		if err != nil {
			vs = append(vs, domain.Violation{Field: "after_position", Description: "must be a position from an earlier WatchAgreementsResponse: " + err.Error()})
		}
		after = seq
	}
	if len(vs) > 0 {
		return &ValidationError{vs}
	}
	m, err := w.agr.matcher(ctx, "filter", q.Filter)
	if err != nil {
		return err
	}
	var start uint64
	switch {
	case q.AfterPosition != "":
		start = after + 1
	case q.Start == bilatv1.WatchStart_WATCH_START_BEGINNING:
		st, err := w.js.Stream(ctx, natsx.StreamEnriched)
		if err != nil {
			return fmt.Errorf("watch agreements: stream info: %w", err)
		}
		start = max(st.CachedInfo().State.FirstSeq, 1)
	}
	// A plain partner filter listens to that partner's subject only (and
	// retractions, whose subject names no partner).
	subjects := []string{"bilat.enriched.agreement.>"}
	if f := q.Filter; f.GetPartner() != "" && !f.GetIncludeSubEntities() && f.GetBloc() == "" {
		subjects = []string{natsx.SubjectEnriched("agreement", f.GetPartner()), subjectAgreementRetracted}
	}
	parents := domain.Parents{}
	err = natsx.Tail(ctx, w.js, natsx.StreamEnriched, subjects, start, func(msg natsx.TailMsg) error {
		resp, err := w.change(ctx, msg, m, parents)
		if err != nil || resp == nil {
			return err
		}
		return send(resp)
	})
	if errors.Is(err, natsx.ErrPositionExpired) {
		return fmt.Errorf("%w: %v; list the current agreements and watch from now", ErrOutOfRange, err)
	}
	return err
}

// change turns one enriched message into a response, or nil when it does
// not pass the filter (or is not an agreement change).
func (w *AgreementWatch) change(ctx context.Context, msg natsx.TailMsg, m *domain.Matcher, parents domain.Parents) (*bilatv1.WatchAgreementsResponse, error) {
	pos := natsx.EncodePosition(natsx.StreamEnriched, msg.Seq)
	w.applied.await(ctx, msg.Seq)
	if msg.Subject == subjectAgreementRetracted {
		ev := &bilatv1.AgreementRetracted{}
		if err := proto.Unmarshal(msg.Data, ev); err != nil {
			w.log.WarnContext(ctx, "watch: undecodable retraction skipped", "seq", msg.Seq, "err", err)
			return nil, nil
		}
		env := ev.GetEnvelope()
		// The retraction carries only the id: its last version, from the
		// revision history, is what the filter judges.
		last, _, err := w.before(ctx, ev.GetAgreementId(), env.GetSequence())
		if err != nil {
			return nil, err
		}
		if last == nil {
			last = &bilatv1.Agreement{Id: ev.GetAgreementId()}
		}
		if !m.Match(last, parents) {
			return nil, nil
		}
		return &bilatv1.WatchAgreementsResponse{
			Position: pos, Kind: bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_RETRACTED,
			Agreement: last, RecordedAt: env.GetRecordedAt(), RetractionReason: ev.GetReason(),
		}, nil
	}
	ev := &bilatv1.AgreementRecorded{}
	if err := proto.Unmarshal(msg.Data, ev); err != nil || ev.GetAgreement() == nil {
		w.log.WarnContext(ctx, "watch: undecodable agreement event skipped", "seq", msg.Seq, "err", err)
		return nil, nil
	}
	a, env := ev.GetAgreement(), ev.GetEnvelope()
	parents.Learn(a)
	if !m.Match(a, parents) {
		return nil, nil
	}
	// A later version of a known agreement, or the same event enriched
	// again after a gazetteer change, is a revision.
	_, prior, err := w.before(ctx, a.GetId(), env.GetSequence())
	if err != nil {
		return nil, err
	}
	kind := bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_RECORDED
	if prior > 0 || env.GetEnrichmentVersion() > 0 {
		kind = bilatv1.AgreementChangeKind_AGREEMENT_CHANGE_KIND_REVISED
	}
	a.Revision = int32(prior) + 1
	if ts := env.GetRecordedAt(); ts != nil {
		a.UpdatedAt = timestamppb.New(ts.AsTime())
	}
	return &bilatv1.WatchAgreementsResponse{Position: pos, Kind: kind, Agreement: a, RecordedAt: env.GetRecordedAt()}, nil
}

// before returns, from the revision history, the last version recorded by
// an event older than seq and how many versions such events recorded.
func (w *AgreementWatch) before(ctx context.Context, id string, seq uint64) (*bilatv1.Agreement, int, error) {
	revs, err := w.agr.r.AgreementRevisions(ctx, id)
	if errors.Is(err, projection.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("watch: revisions of %q: %w", id, err)
	}
	var last *bilatv1.Agreement
	n := 0
	for _, r := range revs {
		if r.Sequence >= seq {
			break
		}
		if !r.GetRetracted() {
			last, n = r.GetAgreement(), n+1
		}
	}
	return last, n, nil
}
