package projection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Retracted is the slot where the tombstone of a record retracted before
// any version of it arrived is kept, so a late older version stays out.
const Retracted = "retracted"

// updatedAt is the time a version is stamped with: when ingest recorded the
// event, so live and rebuilt projections hold the same bytes. Events
// without recorded_at (tests, hand-made publishes) fall back to the clock.
func (s *Store) updatedAt(env *bilatv1.Envelope) time.Time {
	if ts := env.GetRecordedAt(); ts != nil && ts.IsValid() {
		return ts.AsTime()
	}
	return s.now()
}

// enumKey is the key form of an enum value: lower case without the type
// prefix ("PARTY_LEVEL_STATE" -> "state").
func enumKey(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// AgreementDims are the count dimensions of an agreement besides its
// domains: every distinct party level ("lvl|state"; "lvl|unspecified" when
// no party states one), its status and its kind. Each is counted per year
// in the partner's counts HASH ("<dimension>|<year>").
func AgreementDims(a *bilatv1.Agreement) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range a.GetParties() {
		if p.GetLevel() == bilatv1.PartyLevel_PARTY_LEVEL_UNSPECIFIED {
			continue
		}
		d := "lvl|" + enumKey(p.GetLevel().String(), "PARTY_LEVEL_")
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		out = append(out, "lvl|unspecified")
	}
	out = append(out,
		"st|"+enumKey(a.GetStatus().String(), "AGREEMENT_STATUS_"),
		"kind|"+enumKey(a.GetKind().String(), "AGREEMENT_KIND_"))
	// Sorted so the stored csv depends only on the record.
	slices.Sort(out)
	return out
}

// locateForRetraction reads where a record lives; an unknown id is pointed
// at the Retracted slot (compare-and-set) so its tombstone has a home.
func (s *Store) locateForRetraction(ctx context.Context, locKey, id string) (string, error) {
	loc, err := s.rdb.Get(ctx, locKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read location of %q: %w", id, err)
	}
	if loc != "" {
		return loc, nil
	}
	ok, err := casLocationScript.Run(ctx, s.rdb, []string{locKey}, "", Retracted).Int()
	if err != nil {
		return "", fmt.Errorf("set location of %q: %w", id, err)
	}
	if ok != 1 {
		return "", fmt.Errorf("set location of %q: %w", id, ErrConflict)
	}
	if err := s.step("located"); err != nil {
		return "", err
	}
	return Retracted, nil
}

func parseRetractStatus(v []string) (Outcome, bool, error) {
	if len(v) != 1 {
		return 0, false, fmt.Errorf("retract script: unexpected reply %v", v)
	}
	switch v[0] {
	case "retracted":
		return RetractedOutcome, false, nil
	case "duplicate":
		return Duplicate, false, nil
	case "stale":
		return Stale, false, nil
	case "retry":
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("retract script: unexpected status %q", v[0])
}

func validateRetraction(env *bilatv1.Envelope, id string) error {
	switch {
	case env.GetEventId() == "":
		return fmt.Errorf("%w: missing envelope.event_id", ErrInvalidEvent)
	case env.GetSequence() == 0:
		return fmt.Errorf("%w: missing envelope.sequence", ErrInvalidEvent)
	case !validID(id):
		return fmt.Errorf("%w: record id %q unusable", ErrInvalidEvent, id)
	}
	return nil
}

// ApplyAgreementRetraction takes an agreement out of every projection,
// unless a newer version of it was recorded after the retraction. The
// record keeps a tombstone so older versions arriving later stay out.
// Applying it again changes nothing.
func (s *Store) ApplyAgreementRetraction(ctx context.Context, ev *bilatv1.AgreementRetracted) (Outcome, error) {
	env, id := ev.GetEnvelope(), ev.GetAgreementId()
	if err := validateRetraction(env, id); err != nil {
		return 0, err
	}
	out, err := s.retractAgreement(ctx, env, id)
	if err != nil {
		return 0, fmt.Errorf("retract agreement %q event %q: %w", id, env.GetEventId(), err)
	}
	// The tombstone entry of the history, after the retraction itself: a
	// crash before it is repaired by the redelivery (both are idempotent).
	entry, err := historyEntry(env, "", ev.GetReason(), true)
	if err != nil {
		return 0, err
	}
	if err := s.writeHistory(ctx, id, env, entry); err != nil {
		return 0, fmt.Errorf("retract agreement %q event %q: %w", id, env.GetEventId(), err)
	}
	return out, nil
}

func (s *Store) retractAgreement(ctx context.Context, env *bilatv1.Envelope, id string) (Outcome, error) {
	k := s.keys
	loc, err := s.locateForRetraction(ctx, k.AgreementLocation(id), id)
	if err != nil {
		return 0, err
	}
	r := &agreementRecord{s: s, ev: env, agrID: id, part: loc}
	var out Outcome
	done := false
	for range maxRetries {
		stored, err := storedState(ctx, s.rdb, r, loc)
		if err != nil {
			return 0, err
		}
		keys := append([]string{k.AgreementDoc(loc, id), k.AgreementsByDate(loc), k.AgreementCounts(loc), k.Applied(loc)},
			r.domainKeys(loc, stored)...)
		v, err := retractAgreementScript.Run(ctx, s.rdb, keys,
			env.GetEventId(), OrderKey(env), id, stored, k.AgreementDomainPrefix(loc)).StringSlice()
		if err != nil {
			return 0, fmt.Errorf("retract script: %w", err)
		}
		o, retry, err := parseRetractStatus(v)
		if err != nil {
			return 0, err
		}
		if !retry {
			out, done = o, true
			break
		}
	}
	if !done {
		return 0, ErrConflict
	}
	if err := s.step("applied"); err != nil {
		return 0, err
	}
	// The global indexes follow the stored state: a record without a version
	// leaves them (also on a redelivery after a crash before this step).
	live, err := s.rdb.HExists(ctx, k.AgreementDoc(loc, id), fieldSeq).Result()
	if err != nil {
		return 0, fmt.Errorf("read retracted %q: %w", id, err)
	}
	if !live {
		pipe := s.rdb.Pipeline()
		pipe.ZRem(ctx, k.AllAgreements(), id)
		for _, d := range allDomains() {
			pipe.ZRem(ctx, k.AllAgreementsByDomain(DomainName(d)), id)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, fmt.Errorf("global agreement indexes: %w", err)
		}
	}
	return out, nil
}

// ApplyTradeRetraction takes a trade figure out of every projection, with
// the guarantees of ApplyAgreementRetraction.
func (s *Store) ApplyTradeRetraction(ctx context.Context, ev *bilatv1.TradeFigureRetracted) (Outcome, error) {
	env, id := ev.GetEnvelope(), ev.GetFigureId()
	if err := validateRetraction(env, id); err != nil {
		return 0, err
	}
	k := s.keys
	loc, err := s.locateForRetraction(ctx, k.TradeLocation(id), id)
	if err != nil {
		return 0, fmt.Errorf("retract trade figure %q: %w", id, err)
	}
	// The script reads what it removes from the figure's own HASH, so it
	// needs no retry.
	keys := append([]string{k.TradeFigure(loc, id), k.TradeCurrent(loc), k.Applied(loc)}, k.TradeFigureIndexes(loc)...)
	v, err := retractTradeScript.Run(ctx, s.rdb, keys, env.GetEventId(), OrderKey(env), id).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("retract trade figure %q: retract script: %w", id, err)
	}
	o, _, err := parseRetractStatus(v)
	if err != nil {
		return 0, fmt.Errorf("retract trade figure %q: %w", id, err)
	}
	return o, nil
}
