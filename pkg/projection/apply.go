package projection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
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
	// markStale records in the event's partner slot that the event was
	// stale because the record lives elsewhere with a newer version.
	markStale(ctx context.Context) error
	// apply runs the apply script in the record's partner slot; baseRev is
	// the revision the record had under its previous partner.
	apply(ctx context.Context, baseRev int64) (applyResult, error)
	// sync brings the global indexes in line with the stored version;
	// queueSync queues the same commands in a pipeline.
	sync(ctx context.Context, res applyResult) error
	queueSync(ctx context.Context, pipe redis.Pipeliner, res applyResult) []redis.Cmder
	// finishApply reads the answer of step 3 queued by a batch for a
	// record located under the event's partner (or fresh): ok false means
	// the ordinary path must apply the event.
	finishApply(ctx context.Context, queued any) (applyResult, bool, error)
	// stateField is the HASH field apply declares keys from (domains), key
	// "" when apply needs none; setPrefetched hands apply its value read
	// ahead, used by its first attempt only (the script answers retry if
	// it changed).
	stateField(partner string) (key, field string)
	setPrefetched(state string)
	setFresh(fresh bool)
	alreadySynced() bool
}

// storedState reads the state field (domains) of the version of r
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
	pipe := s.rdb.Pipeline()
	first := queueLocate(ctx, pipe, r)
	_, _ = pipe.Exec(ctx) // errors are read per command
	loc, err := s.located(ctx, r, first)
	if err != nil {
		return 0, err
	}
	return s.applyLocated(ctx, r, loc)
}

// locateCmds are the commands of an event's first round trip.
type locateCmds struct {
	loc   *redis.StatusCmd
	state *redis.StringCmd
	hist  *redis.BoolCmd
}

// queueLocate queues the first round trip of applying r: it points a
// record without a location at the partner and reads the location it had
// (SET NX GET: the compare-and-set of step 2 from "none"; it changes
// nothing otherwise), and reads the state stored under the event's partner
// (what the apply script's caller must declare). Records with a revision
// history write their entry in the same round trip: it is idempotent and
// independent of the steps after it.
func queueLocate(ctx context.Context, pipe redis.Pipeliner, r record) locateCmds {
	p := r.partner()
	var c locateCmds
	c.loc = pipe.SetArgs(ctx, r.locKey(), p, redis.SetArgs{Mode: "NX", Get: true})
	if stateKey, stateField := r.stateField(p); stateKey != "" {
		c.state = pipe.HGet(ctx, stateKey, stateField)
	}
	if h, ok := r.(historian); ok {
		c.hist = h.queueHistory(ctx, pipe)
	}
	return c
}

// located reads the answers of queueLocate: the partner the record lived
// under before this event, or the event's own partner when the record had
// no location (then r is marked fresh). Only the errors of r's own
// commands count (a failed connection fails every command of a pipeline).
func (s *Store) located(ctx context.Context, r record, c locateCmds) (string, error) {
	if c.hist != nil {
		if err := r.(historian).historyWritten(ctx, c.hist); err != nil {
			return "", err
		}
	}
	if err := c.loc.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read location of %q: %w", r.id(), err)
	}
	if c.state != nil {
		st, err := c.state.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("read stored state of %q: %w", r.id(), err)
		}
		r.setPrefetched(st)
	}
	loc, err := c.loc.Result()
	if errors.Is(err, redis.Nil) {
		loc = ""
	} else if err != nil {
		return "", fmt.Errorf("read location of %q: %w", r.id(), err)
	}
	// A record without a location never had a version applied (the
	// location is set before the first apply), so it has no global index
	// entries to clean up.
	r.setFresh(loc == "")
	if loc == "" {
		loc = r.partner()
		if err := s.step("located"); err != nil {
			return "", err
		}
	}
	return loc, nil
}

// applyLocated runs the steps after the first round trip: loc is where the
// record lived before the event (the event's partner for a fresh record).
func (s *Store) applyLocated(ctx context.Context, r record, loc string) (Outcome, error) {
	p := r.partner()
	var baseRev int64
	if loc != "" && loc != p {
		st, rev, err := r.remove(ctx, loc)
		if err != nil {
			return 0, fmt.Errorf("move %q from %q: %w", r.id(), loc, err)
		}
		if st == "newer" {
			if err := r.markStale(ctx); err != nil {
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
	if needsSync(r, res) {
		if err := r.sync(ctx, res); err != nil {
			return 0, fmt.Errorf("sync global indexes of %q: %w", r.id(), err)
		}
	}
	return res.outcome, nil
}

// needsSync: the stored version's global index entries are not written yet.
func needsSync(r record, res applyResult) bool { return res.exists && !r.alreadySynced() }

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
// updated_at), to which the projection appends its own (wire.go). The
// deterministic encoding writes top-level fields one after another, so
// dropping theirs gives the encoding of m without them, with no copy of m.
func marshalRecord(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	fields := m.ProtoReflect().Descriptor().Fields()
	rev, upd := fields.ByName("revision").Number(), fields.ByName("updated_at").Number()
	out := b[:0]
	for rest := b; len(rest) > 0; {
		num, _, n := protowire.ConsumeField(rest)
		if n < 0 {
			return nil, fmt.Errorf("encode record: %w", protowire.ParseError(n))
		}
		if num != rev && num != upd {
			out = append(out, rest[:n]...) // never ahead of rest: in place
		}
		rest = rest[n:]
	}
	return out, nil
}

// ApplyAgreement applies one enriched AgreementRecorded event. Applying the
// same event again, or an older version after a newer one, changes nothing.
// Errors wrapping ErrInvalidEvent are permanent; the others are transient.
func (s *Store) ApplyAgreement(ctx context.Context, ev *bilatv1.AgreementRecorded) (Outcome, error) {
	r, err := s.agreementRecord(ev)
	if err != nil {
		return 0, err
	}
	out, err := s.applyRecord(ctx, r)
	if err != nil {
		return 0, r.wrap(err)
	}
	return out, nil
}

func (r *agreementRecord) wrap(err error) error {
	return fmt.Errorf("apply agreement %q event %q: %w", r.agrID, r.ev.GetEventId(), err)
}

// agreementRecord validates an event and prepares what applying it writes.
func (s *Store) agreementRecord(ev *bilatv1.AgreementRecorded) (*agreementRecord, error) {
	env, a := ev.GetEnvelope(), ev.GetAgreement()
	switch {
	case env.GetEventId() == "":
		return nil, fmt.Errorf("%w: missing envelope.event_id", ErrInvalidEvent)
	case env.GetSequence() == 0:
		return nil, fmt.Errorf("%w: missing envelope.sequence", ErrInvalidEvent)
	case a == nil:
		return nil, fmt.Errorf("%w: missing agreement", ErrInvalidEvent)
	case !validID(a.GetId()):
		return nil, fmt.Errorf("%w: agreement id %q unusable", ErrInvalidEvent, a.GetId())
	}
	partner := PartnerCode(a.GetPartner())
	if !validCode(partner) {
		return nil, fmt.Errorf("%w: partner code %q unusable", ErrInvalidEvent, partner)
	}
	data, err := marshalRecord(a)
	if err != nil {
		return nil, err
	}
	data = appendUpdatedAt(data, agreementOwned.updatedAt, s.updatedAt(env)) // the script appends the revision
	year := a.GetSignedOn().GetYear()
	if year < 0 || DateScore(a.GetSignedOn()) == 0 {
		year = 0
	}
	hist, err := historyEntry(env, partner, "", false)
	if err != nil {
		return nil, err
	}
	r := &agreementRecord{
		s: s, ev: env, agrID: a.GetId(), part: partner, data: data, hist: hist,
		score: DateScore(a.GetSignedOn()), year: year,
		domains: strings.Join(domainNames(a.GetDomains()), ","),
		dims:    strings.Join(AgreementDims(a), ","),
	}
	return r, nil
}

type agreementRecord struct {
	prefetch
	s       *Store
	ev      *bilatv1.Envelope
	agrID   string
	part    string
	data    []byte // marshalRecord's bytes and updated_at (wire.go)
	score   int64
	year    int32
	domains string
	dims    string
	hist    []byte // history entry (history.go); nil for retractions
}

// historian is a record that keeps a revision history.
type historian interface {
	queueHistory(ctx context.Context, pipe redis.Pipeliner) *redis.BoolCmd
	historyWritten(ctx context.Context, cmd *redis.BoolCmd) error
}

func (r *agreementRecord) queueHistory(ctx context.Context, pipe redis.Pipeliner) *redis.BoolCmd {
	return r.s.queueHistory(ctx, pipe, r.agrID, r.ev, r.hist)
}

func (r *agreementRecord) historyWritten(ctx context.Context, cmd *redis.BoolCmd) error {
	return r.s.historyWritten(ctx, cmd, r.agrID, r.ev, r.hist)
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

// markStale keeps the stale version's bytes for the revision history.
func (r *agreementRecord) markStale(ctx context.Context) error {
	k := r.s.keys
	return markStaleAgreementScript.Run(ctx, r.s.rdb, []string{k.Applied(r.part), k.AgreementDoc(r.part, r.agrID)},
		r.ev.GetEventId(), OrderKey(r.ev), r.data).Err()
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

// applyCall is the apply script's keys and arguments for the stored state
// the caller saw.
func (r *agreementRecord) applyCall(stored string, baseRev int64) ([]string, []any) {
	return r.s.agreementsCall([]*agreementRecord{r}, []string{stored}, []int64{baseRev})
}

// agreementArgs is how many of applyAgreementsScript's arguments each
// event has.
const agreementArgs = 11

// agreementsCall is applyAgreementsScript's keys and arguments for the
// records rs, each under its own partner, with the stored state each
// caller saw and the revision each had under a previous partner.
func (s *Store) agreementsCall(rs []*agreementRecord, stored []string, baseRevs []int64) ([]string, []any) {
	k := s.keys
	var partners []string
	pos := make(map[string]int, 1)
	at := make([]int, len(rs)) // rs[i]'s partner's position, 1-based
	for i, r := range rs {
		if at[i] = pos[r.part]; at[i] == 0 {
			partners = append(partners, r.part)
			at[i] = len(partners)
			pos[r.part] = at[i]
		}
	}
	keys := make([]string, 0, 3*len(partners)+2*len(rs))
	args := make([]any, 0, 1+len(partners)+agreementArgs*len(rs))
	args = append(args, len(partners))
	for _, p := range partners {
		keys = append(keys, k.AgreementsByDate(p), k.AgreementCounts(p), k.Applied(p))
		args = append(args, k.AgreementDomainPrefix(p))
	}
	var domainKeys []string
	for i, r := range rs {
		keys = append(keys, k.AgreementDoc(r.part, r.agrID))
		domainKeys = append(domainKeys, r.domainKeys(r.part, stored[i], r.domains)...)
		args = append(args, at[i], r.ev.GetEventId(), OrderKey(r.ev), r.data, r.score, r.year, r.domains,
			r.agrID, stored[i], r.dims, baseRevs[i])
	}
	slices.Sort(domainKeys)
	return append(keys, slices.Compact(domainKeys)...), args
}

func (r *agreementRecord) apply(ctx context.Context, baseRev int64) (applyResult, error) {
	for range maxRetries {
		stored, ok := r.take()
		if !ok {
			var err error
			if stored, err = storedState(ctx, r.s.rdb, r, r.part); err != nil {
				return applyResult{}, err
			}
		}
		keys, args := r.applyCall(stored, baseRev)
		if r.fresh && !r.synced {
			if res, ok, err := r.applySpeculative(ctx, keys, args); err != nil || ok {
				return res, err
			}
		}
		v, err := scriptReply{cmd: applyAgreementsScript.Run(ctx, r.s.rdb, keys, args...), n: 0}.result()
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
	pipe := r.s.rdb.Pipeline()
	sp := r.queueSpeculative(ctx, pipe, keys, args)
	_, _ = pipe.Exec(ctx) // errors are read per command
	return r.finishSpeculative(ctx, sp)
}

// speculation is the commands queueSpeculative queued.
type speculation struct {
	script scriptReply
	index  []redis.Cmder
}

func (sp speculation) err() error {
	if _, err := sp.script.result(); err != nil {
		return err
	}
	for _, c := range sp.index {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// queueSpeculative queues the apply script of a fresh record (EvalSha: a
// missing script fails the speculation, and the ordinary path loads it)
// with the global index entries of the event's version.
func (r *agreementRecord) queueSpeculative(ctx context.Context, pipe redis.Pipeliner, keys []string, args []any) speculation {
	cmd := applyAgreementsScript.EvalSha(ctx, pipe, keys, args...)
	return speculation{script: scriptReply{cmd: cmd, n: 0}, index: r.queueIndexEntries(ctx, pipe)}
}

// queueIndexEntries queues the global index entries of the event's
// version of a fresh record.
func (r *agreementRecord) queueIndexEntries(ctx context.Context, pipe redis.Pipeliner) []redis.Cmder {
	k := r.s.keys
	score := float64(r.score)
	index := []redis.Cmder{pipe.ZAdd(ctx, k.AllAgreements(), redis.Z{Score: score, Member: r.agrID})}
	for _, d := range strings.Split(r.domains, ",") {
		if d != "" {
			index = append(index, pipe.ZAdd(ctx, k.AllAgreementsByDomain(d), redis.Z{Score: score, Member: r.agrID}))
		}
	}
	return append(index, pipe.SAdd(ctx, k.Partners(), r.part))
}

// finishSpeculative reads the answers of queueSpeculative: ok with the
// result when the script applied the event as speculated (the global
// indexes are then in line), or when it answered without applying (the
// entries are then taken out again); not ok when the ordinary path must
// run (retry, or the script was not loaded).
func (r *agreementRecord) finishSpeculative(ctx context.Context, sp speculation) (applyResult, bool, error) {
	k := r.s.keys
	execErr := sp.err()
	reply, scriptErr := sp.script.result()
	if execErr == nil {
		res, retry, err := parseApplyResult(reply)
		if err != nil {
			return applyResult{}, false, err
		}
		if !retry && res.outcome == Applied && res.state == r.domains {
			r.synced = true
			return res, true, nil
		}
	} else if !redis.HasErrorPrefix(scriptErr, "NOSCRIPT") {
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
		res, retry, err := parseApplyResult(reply)
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
	pipe := r.s.rdb.Pipeline()
	r.queueSync(ctx, pipe, res)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("global agreement indexes: %w", err)
	}
	return nil
}

// queueSync queues the commands of sync.
func (r *agreementRecord) queueSync(ctx context.Context, pipe redis.Pipeliner, res applyResult) []redis.Cmder {
	k := r.s.keys
	in := map[string]bool{}
	for _, d := range strings.Split(res.state, ",") {
		in[d] = true
	}
	cmds := []redis.Cmder{pipe.ZAdd(ctx, k.AllAgreements(), redis.Z{Score: res.score, Member: r.agrID})}
	for _, d := range allDomains() {
		name := DomainName(d)
		switch {
		case in[name]:
			cmds = append(cmds, pipe.ZAdd(ctx, k.AllAgreementsByDomain(name), redis.Z{Score: res.score, Member: r.agrID}))
		case !r.fresh:
			cmds = append(cmds, pipe.ZRem(ctx, k.AllAgreementsByDomain(name), r.agrID))
		}
	}
	return append(cmds, pipe.SAdd(ctx, k.Partners(), r.part))
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
	r, err := s.tradeRecord(ev)
	if err != nil {
		return 0, err
	}
	out, err := s.applyRecord(ctx, r)
	if err != nil {
		return 0, r.wrap(err)
	}
	return out, nil
}

func (r *tradeRecord) wrap(err error) error {
	return fmt.Errorf("apply trade figure %q event %q: %w", r.figID, r.ev.GetEventId(), err)
}

// tradeRecord validates an event and prepares what applying it writes.
func (s *Store) tradeRecord(ev *bilatv1.TradeFigureRecorded) (*tradeRecord, error) {
	env, f := ev.GetEnvelope(), ev.GetFigure()
	switch {
	case env.GetEventId() == "":
		return nil, fmt.Errorf("%w: missing envelope.event_id", ErrInvalidEvent)
	case env.GetSequence() == 0:
		return nil, fmt.Errorf("%w: missing envelope.sequence", ErrInvalidEvent)
	case f == nil:
		return nil, fmt.Errorf("%w: missing figure", ErrInvalidEvent)
	case !validID(f.GetId()):
		return nil, fmt.Errorf("%w: figure id %q unusable", ErrInvalidEvent, f.GetId())
	}
	partner, reporter := PartnerCode(f.GetPartner()), PartnerCode(f.GetReporter())
	if !validCode(partner) {
		return nil, fmt.Errorf("%w: partner code %q unusable", ErrInvalidEvent, partner)
	}
	if !validCode(reporter) {
		return nil, fmt.Errorf("%w: reporter code %q unusable", ErrInvalidEvent, reporter)
	}
	data, err := marshalRecord(f)
	if err != nil {
		return nil, err
	}
	r := &tradeRecord{
		s: s, ev: env, figID: f.GetId(), part: partner, data: data,
		series: SeriesKey(reporter, f.GetPeriod(), f.GetFlow(), f.GetScope()),
		score:  PeriodScore(f.GetPeriod()),
	}
	return r, nil
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

func (r *tradeRecord) id() string                         { return r.figID }
func (r *tradeRecord) partner() string                    { return r.part }
func (r *tradeRecord) eventID() string                    { return r.ev.GetEventId() }
func (r *tradeRecord) locKey() string                     { return r.s.keys.TradeLocation(r.figID) }
func (r *tradeRecord) stateField(string) (string, string) { return "", "" }
func (r *tradeRecord) docKey(partner string) string {
	return r.s.keys.TradeFigure(partner, r.figID)
}

func (r *tradeRecord) markStale(ctx context.Context) error {
	return r.s.rdb.SAdd(ctx, r.s.keys.Applied(r.part), r.ev.GetEventId()).Err()
}

func (r *tradeRecord) remove(ctx context.Context, from string) (string, int64, error) {
	k := r.s.keys
	keys := append([]string{k.TradeFigure(from, r.figID), k.TradeCurrent(from)}, k.TradeFigureIndexes(from)...)
	return removeResult(removeTradeScript.Run(ctx, r.s.rdb, keys, OrderKey(r.ev), r.figID))
}

// applyCall is the apply script's keys and arguments. Unlike an
// agreement's, they do not depend on the stored version: the script finds
// the member it replaces in the figure's HASH.
func (r *tradeRecord) applyCall(baseRev int64) ([]string, []any) {
	k, p := r.s.keys, r.part
	keys := append([]string{k.TradeFigure(p, r.figID), k.TradeCurrent(p), k.Applied(p)}, k.TradeFigureIndexes(p)...)
	args := []any{r.ev.GetEventId(), OrderKey(r.ev), r.data, r.series, r.score,
		encodeTime(r.s.updatedAt(r.ev)), r.figID, baseRev}
	return keys, args
}

func (r *tradeRecord) apply(ctx context.Context, baseRev int64) (applyResult, error) {
	keys, args := r.applyCall(baseRev)
	v, err := applyTradeScript.Run(ctx, r.s.rdb, keys, args...).Result()
	if err != nil {
		return applyResult{}, fmt.Errorf("apply script: %w", err)
	}
	res, retry, err := parseApplyResult(v)
	if err != nil {
		return applyResult{}, err
	}
	if retry {
		return applyResult{}, fmt.Errorf("apply script: unexpected retry")
	}
	return res, nil
}

// sync records the partner; trade has no other global index (reads go
// through the partner's series index).
func (r *tradeRecord) sync(ctx context.Context, res applyResult) error {
	pipe := r.s.rdb.Pipeline()
	r.queueSync(ctx, pipe, res)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("partners index: %w", err)
	}
	return nil
}

func (r *tradeRecord) queueSync(ctx context.Context, pipe redis.Pipeliner, _ applyResult) []redis.Cmder {
	return []redis.Cmder{pipe.SAdd(ctx, r.s.keys.Partners(), r.part)}
}
