package projection

import (
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
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
	// afterStep, when set by tests, runs after each step of a multi-step
	// apply; an error stops the apply there, as a crash would.
	afterStep func(step string) error
}

// Option configures a Store.
type Option func(*Store)

// WithPrefix puts every key under prefix instead of DefaultPrefix.
func WithPrefix(prefix string) Option { return func(s *Store) { s.keys = NewKeys(prefix) } }

// WithClock sets the clock that stamps updated_at.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store over rdb.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, keys: NewKeys(""), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Keys is the key builder the Store uses.
func (s *Store) Keys() Keys { return s.keys }
