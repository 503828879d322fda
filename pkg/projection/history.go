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
// value = "<OrderKey>:<bilat.v1.AgreementRevision bytes>". It is keyed by
// the agreement id (in a hash tag) rather than the partner, because an
// agreement can move between partners on re-enrichment while its history
// stays one list; it is written by its own single-key idempotent step.
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

// historyEntry is the stored form of one version or retraction.
func historyEntry(env *bilatv1.Envelope, a *bilatv1.Agreement, reason string, retracted bool) ([]byte, error) {
	e := &bilatv1.AgreementRevision{
		EventId: env.GetEventId(), Source: env.GetSource(), RecordedAt: env.GetRecordedAt(),
		Retracted: retracted, RetractionReason: reason,
	}
	if a != nil {
		c := proto.Clone(a).(*bilatv1.Agreement)
		c.Revision, c.UpdatedAt = 0, nil
		e.Agreement = c
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode history entry: %w", err)
	}
	return b, nil
}

// queueHistory adds the history write of an event to pipe. Eval (not
// EvalSha) because a pipeline cannot fall back on NOSCRIPT; the script is
// a few hundred bytes.
func (s *Store) queueHistory(ctx context.Context, pipe redis.Pipeliner, id string, env *bilatv1.Envelope, entry []byte) *redis.Cmd {
	return historyScript.Eval(ctx, pipe, []string{s.keys.AgreementHistory(id)},
		strconv.FormatUint(env.GetSequence(), 10), OrderKey(env), entry)
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
// id has no history.
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
	for field, val := range h {
		seq, err := strconv.ParseUint(field, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("history of %q: field %q: %w", id, field, err)
		}
		ok, data, found := strings.Cut(val, ":")
		if !found {
			return nil, fmt.Errorf("history of %q: malformed entry %q", id, field)
		}
		order, err := strconv.ParseUint(ok, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("history of %q: entry %q order key: %w", id, field, err)
		}
		e := &bilatv1.AgreementRevision{}
		if err := proto.Unmarshal([]byte(data), e); err != nil {
			return nil, fmt.Errorf("history of %q: entry %q: %w", id, field, err)
		}
		out = append(out, Revision{AgreementRevision: e, Sequence: seq, OrderKey: order})
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

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
