package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/domain"
)

// ErrInvalid marks a bad request (an empty alias, an unknown code).
var ErrInvalid = errors.New("invalid request")

// UnresolvedEntry is one name that did not resolve, as tracked.
type UnresolvedEntry struct {
	// Key identifies the entry in its store.
	Key        string
	Name       string
	Resolution bilatv1.Resolution
	Count      int64
	Candidates []*bilatv1.Candidate
	Sequences  []uint64
}

// UnresolvedStore lists and removes tracked names.
type UnresolvedStore interface {
	List(ctx context.Context) ([]UnresolvedEntry, error)
	Delete(ctx context.Context, key string) error
}

// AliasStore keeps operator aliases durably (every replica watches it).
type AliasStore interface {
	Put(ctx context.Context, alias, code string) error
}

// EventSource reads an event back from BILAT_EVENTS by its sequence.
type EventSource interface {
	// Get returns ErrEventGone when the stream no longer has it.
	Get(ctx context.Context, seq uint64) (Event, error)
}

// ErrEventGone: the event is no longer in the stream (limits, purge).
var ErrEventGone = errors.New("event no longer in the stream")

// Versions hands out enrichment versions per event, durably.
type Versions interface {
	// Next returns the previous version of the event at seq plus one and
	// remembers it.
	Next(ctx context.Context, seq uint64) (uint32, error)
}

// Curator applies operator aliases and re-enriches the events they fix.
type Curator struct {
	g          *domain.Gazetteer
	svc        *Service
	aliases    AliasStore
	unresolved UnresolvedStore
	events     EventSource
	versions   Versions
	log        *slog.Logger

	mu       sync.Mutex
	operator map[string]string // alias as written -> code
	// reconcile runs one at a time per replica.
	reconcileMu sync.Mutex
}

// NewCurator wires the curation use cases.
func NewCurator(g *domain.Gazetteer, svc *Service, aliases AliasStore, unresolved UnresolvedStore, events EventSource, versions Versions, log *slog.Logger) *Curator {
	return &Curator{g: g, svc: svc, aliases: aliases, unresolved: unresolved, events: events, versions: versions, log: log, operator: map[string]string{}}
}

// SetAliases replaces the operator aliases with the full set from the
// store (the watcher calls it on every change).
func (c *Curator) SetAliases(all map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.operator = maps.Clone(all)
	if c.operator == nil {
		c.operator = map[string]string{}
	}
	if unknown := c.g.SetOperatorAliases(c.operator); len(unknown) > 0 {
		c.log.Warn("operator aliases name unknown entities; ignored", "aliases", unknown)
	}
}

// AddAliasResult says what adding an alias changed.
type AddAliasResult struct {
	Normalized    string
	Reenriched    int
	ResolvedNames []string
}

// AddAlias stores alias → code, applies it here at once (the other
// replicas through the store's watch), then re-enriches every tracked
// event whose name now resolves.
func (c *Curator) AddAlias(ctx context.Context, alias, code string) (AddAliasResult, error) {
	alias, code = strings.TrimSpace(alias), strings.TrimSpace(code)
	n := domain.Normalize(alias)
	if n == "" {
		return AddAliasResult{}, fmt.Errorf("%w: alias %q has no letters or digits", ErrInvalid, alias)
	}
	if _, ok := c.g.Entity(code); !ok {
		return AddAliasResult{}, fmt.Errorf("%w: no entity with code %q", ErrInvalid, code)
	}
	if err := c.aliases.Put(ctx, alias, code); err != nil {
		return AddAliasResult{}, fmt.Errorf("store alias: %w", err)
	}
	c.mu.Lock()
	c.operator[alias] = code
	c.g.SetOperatorAliases(c.operator)
	c.mu.Unlock()
	res, err := c.Reconcile(ctx)
	res.Normalized = n
	return res, err
}

// Reconcile re-enriches the events of every tracked name that resolves
// now, each event once, then forgets those names. A failure leaves the
// names tracked, so running it again finishes the work.
func (c *Curator) Reconcile(ctx context.Context) (AddAliasResult, error) {
	c.reconcileMu.Lock()
	defer c.reconcileMu.Unlock()
	var res AddAliasResult
	entries, err := c.unresolved.List(ctx)
	if err != nil {
		return res, fmt.Errorf("list unresolved names: %w", err)
	}
	var (
		fixed []UnresolvedEntry
		seqs  []uint64
	)
	for _, e := range entries {
		if c.g.Resolve(e.Name).Resolution != bilatv1.Resolution_RESOLUTION_RESOLVED {
			continue
		}
		fixed = append(fixed, e)
		res.ResolvedNames = append(res.ResolvedNames, e.Name)
		seqs = append(seqs, e.Sequences...)
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	for _, seq := range seqs {
		if err := c.Reenrich(ctx, seq); err != nil {
			if errors.Is(err, ErrEventGone) {
				c.log.Warn("event to re-enrich is gone", "seq", seq)
				continue
			}
			return res, err
		}
		res.Reenriched++
	}
	for _, e := range fixed {
		if err := c.unresolved.Delete(ctx, e.Key); err != nil {
			return res, fmt.Errorf("forget resolved name %q: %w", e.Name, err)
		}
	}
	if len(fixed) > 0 {
		c.log.Info("re-enriched after alias", "names", res.ResolvedNames, "events", res.Reenriched)
	}
	return res, nil
}

// Reenrich enriches the event at seq again as its next enrichment
// version, which supersedes the earlier ones in the projections.
func (c *Curator) Reenrich(ctx context.Context, seq uint64) error {
	ev, err := c.events.Get(ctx, seq)
	if err != nil {
		return fmt.Errorf("read event %d: %w", seq, err)
	}
	v, err := c.versions.Next(ctx, seq)
	if err != nil {
		return fmt.Errorf("next enrichment version of %d: %w", seq, err)
	}
	if err := c.svc.handle(ctx, ev, v); err != nil {
		return fmt.Errorf("re-enrich event %d as version %d: %w", seq, v, err)
	}
	return nil
}

// ListUnresolved returns the tracked names, most frequent first.
func (c *Curator) ListUnresolved(ctx context.Context, limit int) ([]UnresolvedEntry, error) {
	entries, err := c.unresolved.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unresolved names: %w", err)
	}
	slices.SortFunc(entries, func(a, b UnresolvedEntry) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name))
	})
	if limit <= 0 {
		limit = 100
	}
	if len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, nil
}

// Preview enriches a record as the pipeline would, recording nothing.
// rec is an *bilatv1.Agreement or *bilatv1.TradeFigure.
func (s *Service) Preview(rec proto.Message) (proto.Message, string, error) {
	var (
		ev  Event
		msg proto.Message
	)
	env := &bilatv1.Envelope{EventId: "preview", Source: "preview"}
	switch r := rec.(type) {
	case *bilatv1.Agreement:
		ev.Subject = natsx.SubjectEventAgreement
		msg = &bilatv1.AgreementRecorded{Envelope: env, Agreement: r}
	case *bilatv1.TradeFigure:
		ev.Subject = natsx.SubjectEventTrade
		msg = &bilatv1.TradeFigureRecorded{Envelope: env, Figure: r}
	default:
		return nil, "", fmt.Errorf("%w: nothing to preview", ErrInvalid)
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		return nil, "", fmt.Errorf("encode preview: %w", err)
	}
	ev.Data = data
	en, err := s.enrich(ev)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return en.Msg, natsx.SubjectEnriched(en.RecordType, en.Partner), nil
}
