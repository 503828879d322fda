package projection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/redisx"
)

var (
	// ErrInvalidEvent marks an event that can never be applied (missing
	// envelope, id or sequence, or codes unusable in keys): dead-letter it.
	ErrInvalidEvent = errors.New("projection: invalid event")
	// ErrConflict means another writer changed the record meanwhile; the
	// event was not (fully) applied and is safe to retry.
	ErrConflict = errors.New("projection: concurrent update")
	// ErrNotFound means no record has the id.
	ErrNotFound = errors.New("projection: not found")
	// ErrInvalidPageToken means a page token is malformed or was issued for other filters.
	ErrInvalidPageToken = errors.New("projection: invalid page token")
)

// Store writes and reads the projections in one Redis (or Redis Cluster).
type Store struct {
	rdb  redis.UniversalClient
	keys Keys
	now  func() time.Time
	// reads, when set, carries the read paths' round trips together with
	// those of concurrent readers (WithCoalescedReads).
	reads *redisx.Coalescer
	// slotted: the client shards keys by hash slot (Redis Cluster, Ring),
	// so one script call may only touch one partner's keys.
	slotted bool
	// afterStep, when set by tests, runs after each step of a multi-step
	// apply; an error stops the apply there, as a crash would.
	afterStep func(step string) error
}

// Option configures a Store.
type Option func(*Store)

// WithCoalescedReads sends the small round trips of GetAgreement,
// ListAgreements and GetTradeSeries (and their wire forms) through c,
// together with those of concurrent readers: what a gateway serving many
// clients wants.
func WithCoalescedReads(c *redisx.Coalescer) Option { return func(s *Store) { s.reads = c } }

// coalesceUpTo is the most commands a read sends through the coalescer. A
// pipeline of more (a page of records) already pays its system calls once
// for many commands, and in the coalescer it would hold one of its few
// round trips while the small reads of other requests wait behind it.
const coalesceUpTo = 8

// read sends the commands queue adds (about cmds of them) in one round
// trip, shared with concurrent readers when the Store coalesces reads and
// there are few. Each command carries its own answer and error; read's
// error only says they were not sent.
func (s *Store) read(ctx context.Context, cmds int, queue func(redis.Pipeliner)) error {
	if s.reads != nil && cmds <= coalesceUpTo {
		if err := s.reads.Exec(ctx, queue); err != nil {
			return fmt.Errorf("redis read: %w", err)
		}
		return nil
	}
	pipe := s.rdb.Pipeline()
	queue(pipe)
	_, _ = pipe.Exec(ctx) // errors are read per command
	return nil
}

// WithPrefix puts every key under prefix instead of DefaultPrefix.
func WithPrefix(prefix string) Option { return func(s *Store) { s.keys = NewKeys(prefix) } }

// WithClock sets the clock that stamps updated_at.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store over rdb.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, keys: NewKeys(""), now: time.Now}
	switch rdb.(type) {
	case *redis.ClusterClient, *redis.Ring:
		s.slotted = true
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Keys is the key builder the Store uses.
func (s *Store) Keys() Keys { return s.keys }
