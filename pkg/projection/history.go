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

// historyEntry is the stored form of one version or retraction. data is
// the version as the record HASH stores it (without revision and
// updated_at), nil for a retraction. It is appended as field 2 ahead of
// the other fields, which is exactly the deterministic encoding of the
// whole message (fields in number order), without copying the agreement
// and encoding it a second time.
func historyEntry(env *bilatv1.Envelope, data []byte, reason string, retracted bool) ([]byte, error) {
	e := &bilatv1.AgreementRevision{
		EventId: env.GetEventId(), Source: env.GetSource(), RecordedAt: env.GetRecordedAt(),
		Retracted: retracted, RetractionReason: reason,
	}
	var b []byte
	if data != nil {
		b = protowire.AppendTag(b, agreementRevisionAgreementField, protowire.BytesType)
		b = protowire.AppendBytes(b, data)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(b, e)
	if err != nil {
		return nil, fmt.Errorf("encode history entry: %w", err)
	}
	return b, nil
}

// agreementRevisionAgreementField is AgreementRevision.agreement's number.
const agreementRevisionAgreementField = 2

// queueHistory adds the history write of an event to pipe: HSETNX, the
// whole write for an event seen for the first time; historyWritten runs
// historyScript when the field was there already (a redelivery or a
// re-enrichment), which keeps the entry of the later enrichment.
func (s *Store) queueHistory(ctx context.Context, pipe redis.Pipeliner, id string, env *bilatv1.Envelope, entry []byte) *redis.BoolCmd {
	ok := strconv.AppendUint(nil, OrderKey(env), 10)
	v := append(append(ok, ':'), entry...)
	return pipe.HSetNX(ctx, s.keys.AgreementHistory(id), strconv.FormatUint(env.GetSequence(), 10), v)
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
