package projection

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// AgreementHistory is the HASH of every recorded version of an agreement
// and its retractions: field = the event's envelope.sequence (decimal),
// value = "<OrderKey>:<partner>:<bilat.v1.AgreementRevision bytes without
// the agreement>". A version's own bytes stay in its partner's record HASH:
// "pb" while it is the current version there, "b:<sequence>" once it is not
// (superseded, moved away, retracted, or stale on arrival; see keepBody in
// scripts.go), so the history does not hold a second copy of every
// current agreement. It is keyed by the agreement id (in a hash tag)
// rather than the partner, because an agreement can move between partners
// on re-enrichment while its history stays one list; it is written by its
// own single-key idempotent step. A retraction's partner is empty.
func (k Keys) AgreementHistory(id string) string { return k.prefix + "idx:agr:hist:{" + id + "}" }

// historyScript stores one history entry unless the field already holds
// this event at the same or a later enrichment: a redelivery changes
// nothing, a re-enrichment of the same event (same sequence, higher
// OrderKey) replaces its entry. Versions are kept whatever the apply
// outcome (a stale version is still part of the history), so the history
// does not depend on the order events were applied in and a replay
// rebuilds it byte for byte.
// KEYS: history. ARGV: sequence, order key, entry bytes.
const historyLua = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok = tonumber(string.match(cur, '^(%d+):'))
  if ok and ok >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
return 1
`

var historyScript = redis.NewScript(historyLua)

// historyEntry is the stored form of one version or retraction, after
// its order key: the partner whose record HASH holds the version's bytes
// ("" for a retraction) and the revision's metadata.
func historyEntry(env *bilatv1.Envelope, partner, reason string, retracted bool) ([]byte, error) {
	e := &bilatv1.AgreementRevision{
		EventId: env.GetEventId(), Source: env.GetSource(), RecordedAt: env.GetRecordedAt(),
		Retracted: retracted, RetractionReason: reason,
	}
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(append([]byte(partner), ':'), e)
	if err != nil {
		return nil, fmt.Errorf("encode history entry: %w", err)
	}
	return b, nil
}

// queueHistory adds the history write of an event to pipe: HSETNX, the
// whole write for an event seen for the first time; historyWritten runs
// historyScript when the field was there already (a redelivery or a
// re-enrichment), which keeps the entry of the later enrichment.
func (s *Store) queueHistory(ctx context.Context, pipe redis.Pipeliner, id string, env *bilatv1.Envelope, entry []byte) *redis.BoolCmd {
	return pipe.HSetNX(ctx, s.keys.AgreementHistory(id), historyField(env), historyValue(env, entry))
}

// historyField and historyValue are a history entry's field (the event's
// sequence) and value ("<order key>:<entry>") in the AgreementHistory HASH.
func historyField(env *bilatv1.Envelope) string { return strconv.FormatUint(env.GetSequence(), 10) }

func historyValue(env *bilatv1.Envelope, entry []byte) []byte {
	ok := strconv.AppendUint(nil, OrderKey(env), 10)
	return append(append(ok, ':'), entry...)
}

// HistoryRecord is the field and value that applying an agreement version
// stored under partner adds to its AgreementHistory HASH, as the Store
// writes them: for the bench's raw Redis baseline, which sends the
// projection's writes without its scripts.
func HistoryRecord(env *bilatv1.Envelope, partner string) (field string, value []byte, err error) {
	entry, err := historyEntry(env, partner, "", false)
	if err != nil {
		return "", nil, err
	}
	return historyField(env), historyValue(env, entry), nil
}

// historyWritten checks the answer of queueHistory.
func (s *Store) historyWritten(ctx context.Context, cmd *redis.BoolCmd, id string, env *bilatv1.Envelope, entry []byte) error {
	set, err := cmd.Result()
	switch {
	case err != nil:
		return fmt.Errorf("write history of %q: %w", id, err)
	case set:
		return nil
	}
	return s.writeHistory(ctx, id, env, entry)
}

// writeHistory records a retraction in the agreement's history.
func (s *Store) writeHistory(ctx context.Context, id string, env *bilatv1.Envelope, entry []byte) error {
	err := historyScript.Run(ctx, s.rdb, []string{s.keys.AgreementHistory(id)},
		strconv.FormatUint(env.GetSequence(), 10), OrderKey(env), entry).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("write history of %q: %w", id, err)
	}
	return nil
}

// Revision is one entry of an agreement's history, oldest first.
type Revision struct {
	*bilatv1.AgreementRevision
	// Sequence is the event's envelope.sequence (its BILAT_EVENTS position).
	Sequence uint64
	// OrderKey is the event's OrderKey (sequence and enrichment version).
	OrderKey uint64
}

// AgreementRevisions returns the history of an agreement ordered by event
// sequence: revision n is the n-th recorded version (a re-enrichment
// replaces its event's version rather than adding one); a retraction entry
// carries the version it withdrew and that version's revision number (0
// and no agreement when none was recorded before it). ErrNotFound when the
// id has no history. A version whose bytes are not in its partner's record
// HASH yet (its apply step has not run) has only its id.
func (s *Store) AgreementRevisions(ctx context.Context, id string) ([]Revision, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	h, err := s.rdb.HGetAll(ctx, s.keys.AgreementHistory(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", id, err)
	}
	if len(h) == 0 {
		return nil, ErrNotFound
	}
	out := make([]Revision, 0, len(h))
	where := map[string][]int{} // partner → versions whose bytes it holds
	for field, val := range h {
		r, partner, err := parseHistoryEntry(field, val)
		if err != nil {
			return nil, fmt.Errorf("history of %q: %w", id, err)
		}
		if !r.GetRetracted() {
			where[partner] = append(where[partner], len(out))
		}
		out = append(out, r)
	}
	if err := s.versionBytes(ctx, id, out, where); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Revision) int { return cmpUint(a.Sequence, b.Sequence) })
	var rev int32
	var last *bilatv1.Agreement
	for _, r := range out {
		if r.GetRetracted() {
			r.Revision = rev
			if last != nil {
				r.Agreement = proto.Clone(last).(*bilatv1.Agreement)
			}
			continue
		}
		rev++
		r.Revision = rev
		if r.Agreement == nil {
			r.Agreement = &bilatv1.Agreement{Id: id}
		}
		r.Agreement.Revision = rev
		if r.RecordedAt != nil {
			r.Agreement.UpdatedAt = timestamppb.New(r.RecordedAt.AsTime())
		}
		last = r.Agreement
	}
	return out, nil
}

// parseHistoryEntry decodes one field of an AgreementHistory HASH.
func parseHistoryEntry(field, val string) (Revision, string, error) {
	seq, err := strconv.ParseUint(field, 10, 64)
	if err != nil {
		return Revision{}, "", fmt.Errorf("field %q: %w", field, err)
	}
	ok, rest, found := strings.Cut(val, ":")
	partner, data, found2 := strings.Cut(rest, ":")
	if !found || !found2 {
		return Revision{}, "", fmt.Errorf("malformed entry %q", field)
	}
	order, err := strconv.ParseUint(ok, 10, 64)
	if err != nil {
		return Revision{}, "", fmt.Errorf("entry %q order key: %w", field, err)
	}
	e := &bilatv1.AgreementRevision{}
	if err := proto.Unmarshal([]byte(data), e); err != nil {
		return Revision{}, "", fmt.Errorf("entry %q: %w", field, err)
	}
	return Revision{AgreementRevision: e, Sequence: seq, OrderKey: order}, partner, nil
}

// versionBytes fills in each version's agreement from the record HASH of
// the partner that holds it: "pb" when it is the current version there,
// else its "b:<sequence>" field.
func (s *Store) versionBytes(ctx context.Context, id string, revs []Revision, where map[string][]int) error {
	pipe := s.rdb.Pipeline()
	cmds := map[string]*redis.SliceCmd{}
	for partner, at := range where {
		if !validCode(partner) {
			continue
		}
		fields := []string{fieldSeq, fieldData}
		for _, i := range at {
			fields = append(fields, bodyField(revs[i].Sequence))
		}
		cmds[partner] = pipe.HMGet(ctx, s.keys.AgreementDoc(partner, id), fields...)
	}
	if len(cmds) == 0 {
		return nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("history of %q: versions: %w", id, err)
	}
	for partner, cmd := range cmds {
		vals := cmd.Val()
		cur, _ := vals[0].(string)
		for n, i := range where[partner] {
			var data string
			if cur == strconv.FormatUint(revs[i].OrderKey, 10) {
				data, _ = vals[1].(string)
			} else if kept, ok := vals[2+n].(string); ok {
				_, data, _ = strings.Cut(kept, ":")
			} else {
				continue
			}
			a := &bilatv1.Agreement{}
			if err := proto.Unmarshal([]byte(data), a); err != nil {
				return fmt.Errorf("history of %q: version %d: %w", id, revs[i].Sequence, err)
			}
			revs[i].Agreement = a
		}
	}
	return nil
}

// bodyField is the record HASH field keeping the version recorded by the
// event with envelope sequence seq once it is not the current one.
func bodyField(seq uint64) string { return "b:" + strconv.FormatUint(seq, 10) }

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
