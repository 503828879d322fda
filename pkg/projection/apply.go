package projection

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Outcome says what applying an event did.
type Outcome int

const (
	// Applied: the event's version is now the stored one.
	Applied Outcome = iota + 1
	// Duplicate: the event had been applied before; nothing changed.
	Duplicate
	// Stale: a version with a higher sequence is stored; the event was only
	// marked applied.
	Stale
	// RetractedOutcome: a retraction took the record out (or left a
	// tombstone for an id not seen yet).
	RetractedOutcome
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Duplicate:
		return "duplicate"
	case Stale:
		return "stale"
	case RetractedOutcome:
		return "retracted"
	}
	return "unknown"
}

// maxRetries bounds the optimistic read-then-script loops; each retry means
// another writer changed the same record between the read and the script.
const maxRetries = 5

// applyResult is the stored version after an apply script ran.
type applyResult struct {
	outcome Outcome
	exists  bool
	score   float64
	state   string // agreements: domains csv; trade: series key
}

// record is one kind of projected record (agreement or trade figure) as the
// partner-move protocol in applyRecord sees it.
type record interface {
	id() string
	locKey() string
	docKey(partner string) string
	partner() string
	eventID() string
	// remove takes the record out of partner from if the version stored
	// there is older than the event: "absent", "newer" or "removed", with
	// the revision stored there.
	remove(ctx context.Context, from string) (string, int64, error)
	// apply runs the apply script in the record's partner slot; baseRev is
	// the revision the record had under its previous partner.
	apply(ctx context.Context, baseRev int64) (applyResult, error)
	// sync brings the global indexes in line with the stored version.
	sync(ctx context.Context, res applyResult) error
	// stateField is the HASH field apply declares keys from (domains,
	// series); setPrefetched hands apply its value read ahead, used by its
	// first attempt only (the script answers retry if it changed).
	stateField(partner string) (key, field string)
	setPrefetched(state string)
	setFresh(fresh bool)
	alreadySynced() bool
}

// storedState reads the state field (domains, series) of the version of r
// stored under partner; "" when there is none.
func storedState(ctx context.Context, rdb redis.Cmdable, r record, partner string) (string, error) {
	key, field := r.stateField(partner)
	v, err := rdb.HGet(ctx, key, field).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read stored %s: %w", field, err)
	}
	return v, nil
}

// prefetch is a stored state read ahead of the apply script, and whether
// the record had no location before this event.
type prefetch struct {
	state string
	ok    bool
	fresh bool
	// synced: the global indexes were written with the apply (fast path).
	synced bool
}

func (p *prefetch) alreadySynced() bool { return p.synced }

func (p *prefetch) setFresh(fresh bool) { p.fresh = fresh }

func (p *prefetch) setPrefetched(state string) { p.state, p.ok = state, true }

// take returns the prefetched state once.
func (p *prefetch) take() (string, bool) {
	st, ok := p.state, p.ok
	p.ok = false
	return st, ok
}

// applyRecord applies an event whose record may have moved between partners.
// The location index (id -> partner) says where the current version lives.
// Every step is idempotent and ordered so that a crash between any two of
// them converges when the event is redelivered:
//  1. if the record lives under another partner, remove it there unless the
//     version there is newer (then this event is stale: mark it, stop), and
//     carry its revision over to the new partner's record HASH;
//  2. point the location index at the new partner (compare-and-set; for a
//     record without one, SET NX in the same round trip as the first read);
//  3. apply in the new partner's slot (atomic, guarded by sequence);
//  4. sync the global indexes from the stored version.
func (s *Store) applyRecord(ctx context.Context, r record) (Outcome, error) {
	// One round trip reads the location and the state stored under the
	// event's partner (what the apply script's caller must declare), and
	// points a record without a location at the partner (SET NX: the
	// compare-and-set of step 2 from "none"; it does nothing otherwise).
	p := r.partner()
	pipe := s.rdb.Pipeline()
	locCmd := pipe.Get(ctx, r.locKey())
	stateKey, stateField := r.stateField(p)
	stateCmd := pipe.HGet(ctx, stateKey, stateField)
	setCmd := pipe.SetNX(ctx, r.locKey(), p, 0)
	// Records with a revision history write their entry in the same round
	// trip: it is idempotent and independent of the steps below.
	var histCmd *redis.Cmd
	if h, ok := r.(historian); ok {
		histCmd = h.queueHistory(ctx, pipe)
	}
	_, execErr := pipe.Exec(ctx)
	if histCmd != nil && histCmd.Err() != nil && !errors.Is(histCmd.Err(), redis.Nil) {
		return 0, fmt.Errorf("write history of %q: %w", r.id(), histCmd.Err())
	}
	if execErr != nil && !errors.Is(execErr, redis.Nil) {
		return 0, fmt.Errorf("read location of %q: %w", r.id(), execErr)
	}
	loc, err := locCmd.Result()
	if errors.Is(err, redis.Nil) {
		loc = ""
	} else if err != nil {
		return 0, fmt.Errorf("read location of %q: %w", r.id(), err)
	}
	if st, err := stateCmd.Result(); err == nil || errors.Is(err, redis.Nil) {
		r.setPrefetched(st)
	}
	// A record without a location never had a version applied (the
	// location is set before the first apply), so it has no global index
	// entries to clean up.
	r.setFresh(loc == "")
	if loc == "" {
		if !setCmd.Val() {
			return 0, fmt.Errorf("set location of %q: %w", r.id(), ErrConflict)
		}
		loc = p
		if err := s.step("located"); err != nil {
			return 0, err
		}
	}
	var baseRev int64
	if loc != "" && loc != p {
		st, rev, err := r.remove(ctx, loc)
		if err != nil {
			return 0, fmt.Errorf("move %q from %q: %w", r.id(), loc, err)
		}
		if st == "newer" {
			if err := s.rdb.SAdd(ctx, s.keys.Applied(p), r.eventID()).Err(); err != nil {
				return 0, fmt.Errorf("mark stale event %q: %w", r.eventID(), err)
			}
			return Stale, nil
		}
		baseRev = rev
		if err := s.step("removed"); err != nil {
			return 0, err
		}
		if rev > 0 {
			if err := seedRevisionScript.Run(ctx, s.rdb, []string{r.docKey(p)}, rev).Err(); err != nil {
				return 0, fmt.Errorf("carry revision of %q to %q: %w", r.id(), p, err)
			}
			if err := s.step("seeded"); err != nil {
				return 0, err
			}
		}
	}
	if loc != p {
		ok, err := casLocationScript.Run(ctx, s.rdb, []string{r.locKey()}, loc, p).Int()
		if err != nil {
			return 0, fmt.Errorf("set location of %q: %w", r.id(), err)
		}
		if ok != 1 {
			return 0, fmt.Errorf("set location of %q: %w", r.id(), ErrConflict)
		}
		if err := s.step("located"); err != nil {
			return 0, err
		}
	}
	res, err := r.apply(ctx, baseRev)
	if err != nil {
		return 0, err
	}
	if err := s.step("applied"); err != nil {
		return 0, err
	}
	if res.exists && !r.alreadySynced() {
		if err := r.sync(ctx, res); err != nil {
			return 0, fmt.Errorf("sync global indexes of %q: %w", r.id(), err)
		}
	}
	return res.outcome, nil
}

func (s *Store) step(name string) error {
	if s.afterStep == nil {
		return nil
	}
	return s.afterStep(name)
}

// parseApplyResult decodes {status, exists, score, state, revision}.
func parseApplyResult(v any) (applyResult, bool, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) < 1 {
		return applyResult{}, false, fmt.Errorf("unexpected script reply %v", v)
	}
	str := func(i int) string {
		if i < len(arr) {
			if s, ok := arr[i].(string); ok {
				return s
			}
		}
		return ""
	}
	var res applyResult
	switch str(0) {
	case "retry":
		return applyResult{}, true, nil
	case "applied":
		res.outcome = Applied
	case "duplicate":
		res.outcome = Duplicate
	case "stale":
		res.outcome = Stale
	default:
		return applyResult{}, false, fmt.Errorf("unexpected script status %v", arr[0])
	}
	if str(1) == "1" {
		res.exists = true
		score, err := strconv.ParseFloat(str(2), 64)
		if err != nil {
			return applyResult{}, false, fmt.Errorf("script score %q: %w", str(2), err)
		}
		res.score = score
		res.state = str(3)
	}
	return res, false, nil
}

// removeResult decodes a remove script's {status, revision}.
func removeResult(cmd *redis.Cmd) (string, int64, error) {
	v, err := cmd.StringSlice()
	if err != nil {
		return "", 0, fmt.Errorf("remove script: %w", err)
	}
	if len(v) != 2 {
		return "", 0, fmt.Errorf("remove script: unexpected reply %v", v)
	}
	rev, err := strconv.ParseInt(v[1], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("remove script: revision %q: %w", v[1], err)
	}
	return v[0], rev, nil
}

// marshalRecord encodes m without the fields the projection owns (revision,
// updated_at): those come from the version metadata when read back.
func marshalRecord(m proto.Message, clear func(proto.Message)) ([]byte, error) {
	c := proto.Clone(m)
	clear(c)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return b, nil
}

// ApplyAgreement applies one enriched AgreementRecorded event. Applying the
// same event again, or an older version after a newer one, changes nothing.
// Errors wrapping ErrInvalidEvent are permanent; the others are transient.
func (s *Store) ApplyAgreement(ctx context.Context, ev *bilatv1.AgreementRecorded) (Outcome, error) {
	env, a := ev.GetEnvelope(), ev.GetAgreement()
	switch {
	case env.GetEventId() == "":
		return 0, fmt.Errorf("%w: missing envelope.event_id", ErrInvalidEvent)
	case env.GetSequence() == 0:
		return 0, fmt.Errorf("%w: missing envelope.sequence", ErrInvalidEvent)
	case a == nil:
		return 0, fmt.Errorf("%w: missing agreement", ErrInvalidEvent)
	case !validID(a.GetId()):
		return 0, fmt.Errorf("%w: agreement id %q unusable", ErrInvalidEvent, a.GetId())
	}
	partner := PartnerCode(a.GetPartner())
	if !validCode(partner) {
		return 0, fmt.Errorf("%w: partner code %q unusable", ErrInvalidEvent, partner)
	}
	data, err := marshalRecord(a, func(m proto.Message) {
		c := m.(*bilatv1.Agreement)
		c.Revision, c.UpdatedAt = 0, nil
	})
	if err != nil {
		return 0, err
	}
	year := a.GetSignedOn().GetYear()
	if year < 0 || DateScore(a.GetSignedOn()) == 0 {
		year = 0
	}
	hist, err := historyEntry(env, a, "", false)
	if err != nil {
		return 0, err
	}
	r := &agreementRecord{
		s: s, ev: env, agrID: a.GetId(), part: partner, data: data, hist: hist,
		score: DateScore(a.GetSignedOn()), year: year,
		domains: strings.Join(domainNames(a.GetDomains()), ","),
		dims:    strings.Join(agreementDims(a), ","),
	}
	out, err := s.applyRecord(ctx, r)
	if err != nil {
		return 0, fmt.Errorf("apply agreement %q event %q: %w", a.GetId(), env.GetEventId(), err)
	}
	return out, nil
}

type agreementRecord struct {
	prefetch
	s       *Store
	ev      *bilatv1.Envelope
	agrID   string
	part    string
	data    []byte
	score   int64
	year    int32
	domains string
	dims    string
	hist    []byte // history entry (history.go); nil for retractions
}

// historian is a record that keeps a revision history.
type historian interface {
	queueHistory(ctx context.Context, pipe redis.Pipeliner) *redis.Cmd
}

func (r *agreementRecord) queueHistory(ctx context.Context, pipe redis.Pipeliner) *redis.Cmd {
	return r.s.queueHistory(ctx, pipe, r.agrID, r.ev, r.hist)
}

func (r *agreementRecord) id() string      { return r.agrID }
func (r *agreementRecord) partner() string { return r.part }
func (r *agreementRecord) eventID() string { return r.ev.GetEventId() }
func (r *agreementRecord) locKey() string  { return r.s.keys.AgreementLocation(r.agrID) }
func (r *agreementRecord) stateField(partner string) (string, string) {
	return r.s.keys.AgreementDoc(partner, r.agrID), fieldDomains
}
func (r *agreementRecord) docKey(partner string) string {
	return r.s.keys.AgreementDoc(partner, r.agrID)
}

// domainKeys are the per-domain ZSETs of partner named in the csv lists.
func (r *agreementRecord) domainKeys(partner string, csvs ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, csv := range csvs {
		for _, d := range strings.Split(csv, ",") {
			if d == "" || seen[d] {
				continue
			}
			seen[d] = true
			out = append(out, r.s.keys.AgreementsByDomain(partner, d))
		}
	}
	return out
}

func (r *agreementRecord) remove(ctx context.Context, from string) (string, int64, error) {
	k := r.s.keys
	for range maxRetries {
		stored, err := storedState(ctx, r.s.rdb, r, from)
		if err != nil {
			return "", 0, err
		}
		keys := append([]string{k.AgreementDoc(from, r.agrID), k.AgreementsByDate(from), k.AgreementCounts(from)},
			r.domainKeys(from, stored)...)
		st, rev, err := removeResult(removeAgreementScript.Run(ctx, r.s.rdb, keys,
			OrderKey(r.ev), r.agrID, stored, k.AgreementDomainPrefix(from)))
		if err != nil || st != "retry" {
			return st, rev, err
		}
	}
	return "", 0, ErrConflict
}

func (r *agreementRecord) apply(ctx context.Context, baseRev int64) (applyResult, error) {
	k, p := r.s.keys, r.part
	updated := encodeTime(r.s.updatedAt(r.ev))
	for range maxRetries {
		stored, ok := r.take()
		if !ok {
			var err error
			if stored, err = storedState(ctx, r.s.rdb, r, p); err != nil {
				return applyResult{}, err
			}
		}
		keys := append([]string{k.AgreementDoc(p, r.agrID), k.AgreementsByDate(p), k.AgreementCounts(p), k.Applied(p)},
			r.domainKeys(p, stored, r.domains)...)
		args := []any{r.ev.GetEventId(), OrderKey(r.ev), r.data, r.score, r.year, r.domains,
			updated, r.agrID, stored, k.AgreementDomainPrefix(p), baseRev, r.dims}
		if r.fresh && !r.synced {
			if res, ok, err := r.applySpeculative(ctx, keys, args); err != nil || ok {
				return res, err
			}
		}
		v, err := applyAgreementScript.Run(ctx, r.s.rdb, keys, args...).Result()
		if err != nil {
			return applyResult{}, fmt.Errorf("apply script: %w", err)
		}
		res, retry, err := parseApplyResult(v)
		if err != nil {
			return applyResult{}, err
		}
		if !retry {
			return res, nil
		}
	}
	return applyResult{}, ErrConflict
}

// applySpeculative is the fast path of a record seen for the first time:
// the apply script and the global index entries it will need go in one
// round trip, since a record without a location can only be applied with
// its own state. If the script answers anything else, the entries are
// taken out again and the caller's ordinary path runs (ok false).
func (r *agreementRecord) applySpeculative(ctx context.Context, keys []string, args []any) (applyResult, bool, error) {
	k := r.s.keys
	pipe := r.s.rdb.Pipeline()
	cmd := applyAgreementScript.EvalSha(ctx, pipe, keys, args...)
	score := float64(r.score)
	pipe.ZAdd(ctx, k.AllAgreements(), redis.Z{Score: score, Member: r.agrID})
	for _, d := range strings.Split(r.domains, ",") {
		if d != "" {
			pipe.ZAdd(ctx, k.AllAgreementsByDomain(d), redis.Z{Score: score, Member: r.agrID})
		}
	}
	pipe.SAdd(ctx, k.Partners(), r.part)
	_, execErr := pipe.Exec(ctx)
	if execErr == nil {
		res, retry, err := parseApplyResult(cmd.Val())
		if err != nil {
			return applyResult{}, false, err
		}
		if !retry && res.outcome == Applied && res.state == r.domains {
			r.synced = true
			return res, true, nil
		}
	} else if !redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		return applyResult{}, false, fmt.Errorf("apply script: %w", execErr)
	}
	// Not what was expected (or the script was not loaded yet): undo the
	// entries, and let the ordinary path (with a full sync) run.
	r.fresh = false
	undo := r.s.rdb.Pipeline()
	undo.ZRem(ctx, k.AllAgreements(), r.agrID)
	for _, d := range strings.Split(r.domains, ",") {
		if d != "" {
			undo.ZRem(ctx, k.AllAgreementsByDomain(d), r.agrID)
		}
	}
	if _, err := undo.Exec(ctx); err != nil {
		return applyResult{}, false, fmt.Errorf("undo speculative index entries: %w", err)
	}
	if execErr == nil {
		res, retry, err := parseApplyResult(cmd.Val())
		if err != nil || !retry {
			return res, err == nil, err
		}
	}
	return applyResult{}, false, nil
}

// sync writes the agreement's entries in the global date and domain indexes
// from the stored version; ZADD/ZREM make it idempotent, and touching every
// domain index removes the entries of any earlier version.
func (r *agreementRecord) sync(ctx context.Context, res applyResult) error {
	k := r.s.keys
	in := map[string]bool{}
	for _, d := range strings.Split(res.state, ",") {
		in[d] = true
	}
	pipe := r.s.rdb.Pipeline()
	pipe.ZAdd(ctx, k.AllAgreements(), redis.Z{Score: res.score, Member: r.agrID})
	for _, d := range allDomains() {
		name := DomainName(d)
		switch {
		case in[name]:
			pipe.ZAdd(ctx, k.AllAgreementsByDomain(name), redis.Z{Score: res.score, Member: r.agrID})
		case !r.fresh:
			pipe.ZRem(ctx, k.AllAgreementsByDomain(name), r.agrID)
		}
	}
	pipe.SAdd(ctx, k.Partners(), r.part)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("global agreement indexes: %w", err)
	}
	return nil
}

// allDomains is every defined domain but DOMAIN_UNSPECIFIED.
func allDomains() []bilatv1.Domain {
	out := make([]bilatv1.Domain, 0, len(bilatv1.Domain_name))
	for v := range bilatv1.Domain_name {
		if v != 0 {
			out = append(out, bilatv1.Domain(v))
		}
	}
	return out
}

// ApplyTradeFigure applies one enriched TradeFigureRecorded event, with the
// same guarantees as ApplyAgreement.
func (s *Store) ApplyTradeFigure(ctx context.Context, ev *bilatv1.TradeFigureRecorded) (Outcome, error) {
	env, f := ev.GetEnvelope(), ev.GetFigure()
	switch {
	case env.GetEventId() == "":
		return 0, fmt.Errorf("%w: missing envelope.event_id", ErrInvalidEvent)
	case env.GetSequence() == 0:
		return 0, fmt.Errorf("%w: missing envelope.sequence", ErrInvalidEvent)
	case f == nil:
		return 0, fmt.Errorf("%w: missing figure", ErrInvalidEvent)
	case !validID(f.GetId()):
		return 0, fmt.Errorf("%w: figure id %q unusable", ErrInvalidEvent, f.GetId())
	}
	partner, reporter := PartnerCode(f.GetPartner()), PartnerCode(f.GetReporter())
	if !validCode(partner) {
		return 0, fmt.Errorf("%w: partner code %q unusable", ErrInvalidEvent, partner)
	}
	if !validCode(reporter) {
		return 0, fmt.Errorf("%w: reporter code %q unusable", ErrInvalidEvent, reporter)
	}
	data, err := marshalRecord(f, func(m proto.Message) {
		c := m.(*bilatv1.TradeFigure)
		c.Revision, c.UpdatedAt = 0, nil
	})
	if err != nil {
		return 0, err
	}
	r := &tradeRecord{
		s: s, ev: env, figID: f.GetId(), part: partner, data: data,
		series: SeriesKey(reporter, f.GetPeriod(), f.GetFlow(), f.GetScope()),
		score:  PeriodScore(f.GetPeriod()),
	}
	out, err := s.applyRecord(ctx, r)
	if err != nil {
		return 0, fmt.Errorf("apply trade figure %q event %q: %w", f.GetId(), env.GetEventId(), err)
	}
	return out, nil
}

type tradeRecord struct {
	prefetch
	s      *Store
	ev     *bilatv1.Envelope
	figID  string
	part   string
	data   []byte
	series string
	score  int64
}

func (r *tradeRecord) id() string      { return r.figID }
func (r *tradeRecord) partner() string { return r.part }
func (r *tradeRecord) eventID() string { return r.ev.GetEventId() }
func (r *tradeRecord) locKey() string  { return r.s.keys.TradeLocation(r.figID) }
func (r *tradeRecord) stateField(partner string) (string, string) {
	return r.s.keys.TradeFigure(partner, r.figID), fieldSeries
}
func (r *tradeRecord) docKey(partner string) string {
	return r.s.keys.TradeFigure(partner, r.figID)
}

func (r *tradeRecord) remove(ctx context.Context, from string) (string, int64, error) {
	k := r.s.keys
	for range maxRetries {
		stored, err := storedState(ctx, r.s.rdb, r, from)
		if err != nil {
			return "", 0, err
		}
		keys := []string{k.TradeFigure(from, r.figID), k.TradeSeriesIndex(from), k.TradeSeries(from, stored)}
		st, rev, err := removeResult(removeTradeScript.Run(ctx, r.s.rdb, keys,
			OrderKey(r.ev), r.figID, stored, k.TradeSeriesPrefix(from)))
		if err != nil || st != "retry" {
			return st, rev, err
		}
	}
	return "", 0, ErrConflict
}

func (r *tradeRecord) apply(ctx context.Context, baseRev int64) (applyResult, error) {
	k, p := r.s.keys, r.part
	updated := encodeTime(r.s.updatedAt(r.ev))
	for range maxRetries {
		stored, ok := r.take()
		if !ok {
			var err error
			if stored, err = storedState(ctx, r.s.rdb, r, p); err != nil {
				return applyResult{}, err
			}
		}
		keys := []string{k.TradeFigure(p, r.figID), k.TradeSeriesIndex(p), k.Applied(p), k.TradeSeries(p, r.series)}
		if stored != "" && stored != r.series {
			keys = append(keys, k.TradeSeries(p, stored))
		}
		v, err := applyTradeScript.Run(ctx, r.s.rdb, keys,
			r.ev.GetEventId(), OrderKey(r.ev), r.data, r.series, r.score,
			updated, r.figID, stored, k.TradeSeriesPrefix(p), baseRev).Result()
		if err != nil {
			return applyResult{}, fmt.Errorf("apply script: %w", err)
		}
		res, retry, err := parseApplyResult(v)
		if err != nil {
			return applyResult{}, err
		}
		if !retry {
			return res, nil
		}
	}
	return applyResult{}, ErrConflict
}

// sync records the partner; trade has no other global index (reads go
// through the partner's series index).
func (r *tradeRecord) sync(ctx context.Context, _ applyResult) error {
	if err := r.s.rdb.SAdd(ctx, r.s.keys.Partners(), r.part).Err(); err != nil {
		return fmt.Errorf("partners index: %w", err)
	}
	return nil
}
