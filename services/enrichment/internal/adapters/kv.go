package adapters

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/app"
	"bilat.dev/services/enrichment/internal/domain"
)

// Key-value buckets of enrichment (file storage, created at start).
const (
	// BucketAliases: operator aliases, key "a.<hash of the alias's match
	// form>", value JSON {"alias","code"}. Every replica watches it.
	BucketAliases = "BILAT_ALIASES"
	// BucketUnresolved: names that did not resolve, key "u.<hash of the
	// match form>", value JSON unresolvedValue.
	BucketUnresolved = "BILAT_UNRESOLVED"
	// BucketVersions: the last enrichment version per re-enriched event,
	// key "s.<BILAT_EVENTS sequence>", value the decimal version.
	BucketVersions = "BILAT_ENRICH_VERSIONS"
	// MaxTrackedSequences caps the sequences kept per unresolved name, so
	// one entry stays small; the count goes on, but events beyond the cap
	// are not re-enriched by an alias.
	MaxTrackedSequences = 1000
	casAttempts         = 20
)

// Buckets are enrichment's key-value buckets.
type Buckets struct {
	Aliases, Unresolved, Versions jetstream.KeyValue
}

// EnsureBuckets creates or updates the buckets.
func EnsureBuckets(ctx context.Context, js jetstream.JetStream, cfg natsx.StreamsConfig) (Buckets, error) {
	replicas := max(cfg.Replicas, 1)
	var b Buckets
	for _, x := range []struct {
		kv   *jetstream.KeyValue
		name string
		desc string
	}{
		{&b.Aliases, BucketAliases, "Operator aliases: normalised alias -> entity code"},
		{&b.Unresolved, BucketUnresolved, "Names enrichment could not resolve, with counts and event sequences"},
		{&b.Versions, BucketVersions, "Enrichment version per re-enriched BILAT_EVENTS sequence"},
	} {
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: x.name, Description: x.desc, Storage: jetstream.FileStorage, Replicas: replicas, History: 1,
		})
		if err != nil {
			return Buckets{}, fmt.Errorf("ensure bucket %s: %w", x.name, err)
		}
		*x.kv = kv
	}
	return b, nil
}

func hashKey(prefix, name string) string {
	sum := sha256.Sum256([]byte(domain.Key(name)))
	return prefix + hex.EncodeToString(sum[:16])
}

// AliasKV stores operator aliases in BILAT_ALIASES.
type AliasKV struct{ KV jetstream.KeyValue }

type aliasValue struct {
	Alias string `json:"alias"`
	Code  string `json:"code"`
}

// Put stores alias → code (a later alias with the same match form wins).
func (a AliasKV) Put(ctx context.Context, alias, code string) error {
	data, err := json.Marshal(aliasValue{Alias: alias, Code: code})
	if err != nil {
		return fmt.Errorf("encode alias: %w", err)
	}
	if _, err := a.KV.Put(ctx, hashKey("a.", alias), data); err != nil {
		return fmt.Errorf("put alias %q: %w", alias, err)
	}
	return nil
}

// AliasWatcher applies BILAT_ALIASES to the gazetteer on every change.
type AliasWatcher struct {
	w    jetstream.KeyWatcher
	done chan struct{}
}

// WatchAliases calls apply with the full alias set once the bucket's
// current content is read and after every later change; it returns once
// the first set is applied, so a replica never enriches without the
// aliases already stored.
func WatchAliases(ctx context.Context, kv jetstream.KeyValue, apply func(map[string]string), log *slog.Logger) (*AliasWatcher, error) {
	for {
		aw, err := watchAliasesOnce(ctx, kv, apply, log)
		if !errors.Is(err, errWatchSlow) {
			return aw, err
		}
		// The watch's end-of-content marker never came (a busy server, or a
		// lost reply): a fresh watch reads the bucket again.
		log.Warn("alias watch gave no end-of-content marker; watching again", "after", watchStartTimeout)
	}
}

// watchStartTimeout bounds the wait for a watch's initial content.
const watchStartTimeout = 10 * time.Second

var errWatchSlow = errors.New("alias watch: no end-of-content marker")

func watchAliasesOnce(ctx context.Context, kv jetstream.KeyValue, apply func(map[string]string), log *slog.Logger) (*AliasWatcher, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", BucketAliases, err)
	}
	aw := &AliasWatcher{w: w, done: make(chan struct{})}
	byKey := map[string]aliasValue{}
	snapshot := func() map[string]string {
		m := make(map[string]string, len(byKey))
		for _, v := range byKey {
			m[v.Alias] = v.Code
		}
		return m
	}
	ready := make(chan struct{})
	go func() {
		defer close(aw.done)
		initial := true
		for e := range w.Updates() {
			if e == nil { // end of the current content
				apply(snapshot())
				initial = false
				close(ready)
				continue
			}
			switch e.Operation() {
			case jetstream.KeyValuePut:
				var v aliasValue
				if err := json.Unmarshal(e.Value(), &v); err != nil {
					log.Warn("bad alias entry ignored", "key", e.Key(), "err", err)
					continue
				}
				byKey[e.Key()] = v
			default:
				delete(byKey, e.Key())
			}
			if !initial {
				apply(snapshot())
			}
		}
	}()
	select {
	case <-ready:
		return aw, nil
	case <-aw.done:
		return nil, fmt.Errorf("watch %s ended before the aliases were read", BucketAliases)
	case <-ctx.Done():
		_ = w.Stop()
		return nil, fmt.Errorf("read aliases: %w", ctx.Err())
	case <-time.After(watchStartTimeout):
		_ = w.Stop()
		<-aw.done
		return nil, errWatchSlow
	}
}

// Stop ends the watch.
func (aw *AliasWatcher) Stop(ctx context.Context) {
	_ = aw.w.Stop()
	select {
	case <-aw.done:
	case <-ctx.Done():
	}
}

// UnresolvedKV tracks unresolved names in BILAT_UNRESOLVED.
type UnresolvedKV struct {
	KV jetstream.KeyValue
	// mu serialises this replica's read-modify-write cycles; the bucket's
	// revision check serialises replicas.
	mu sync.Mutex
}

type unresolvedValue struct {
	Name       string               `json:"name"`
	Resolution string               `json:"resolution"`
	Count      int64                `json:"count"`
	Candidates []*bilatv1.Candidate `json:"candidates,omitempty"`
	Sequences  []uint64             `json:"sequences"`
}

// Track adds seq to every distinct name of refs; a sequence already there
// changes nothing, so redelivered and re-enriched events count once.
func (u *UnresolvedKV) Track(ctx context.Context, seq uint64, refs []*bilatv1.EntityRef) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range refs {
		key := hashKey("u.", r.Name)
		if seen[key] {
			continue
		}
		seen[key] = true
		if err := u.add(ctx, key, seq, r); err != nil {
			return err
		}
	}
	return nil
}

func (u *UnresolvedKV) add(ctx context.Context, key string, seq uint64, r *bilatv1.EntityRef) error {
	var last error
	for range casAttempts {
		e, err := u.KV.Get(ctx, key)
		var v unresolvedValue
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			v = unresolvedValue{Name: r.Name}
		case err != nil:
			return fmt.Errorf("get %s: %w", key, err)
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &v); err != nil {
				v = unresolvedValue{Name: r.Name} // a damaged entry is rebuilt
			}
			if slices.Contains(v.Sequences, seq) {
				return nil
			}
		}
		v.Count++
		if len(v.Sequences) < MaxTrackedSequences {
			v.Sequences = append(v.Sequences, seq)
		}
		v.Resolution = r.Resolution.String()
		v.Candidates = r.Candidates
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s: %w", key, err)
		}
		if rev == 0 {
			_, err = u.KV.Create(ctx, key, data)
		} else {
			_, err = u.KV.Update(ctx, key, data, rev)
		}
		if err == nil {
			return nil
		}
		last = err
	}
	return fmt.Errorf("update %s: gave up after %d conflicting writes: %w", key, casAttempts, last)
}

// List returns every tracked name.
func (u *UnresolvedKV) List(ctx context.Context) ([]app.UnresolvedEntry, error) {
	keys, err := u.KV.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", BucketUnresolved, err)
	}
	var out []app.UnresolvedEntry
	for k := range keys.Keys() {
		e, err := u.KV.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", k, err)
		}
		var v unresolvedValue
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			continue
		}
		out = append(out, app.UnresolvedEntry{
			Key: k, Name: v.Name, Resolution: bilatv1.Resolution(bilatv1.Resolution_value[v.Resolution]),
			Count: v.Count, Candidates: v.Candidates, Sequences: v.Sequences,
		})
	}
	return out, nil
}

// Delete forgets a name.
func (u *UnresolvedKV) Delete(ctx context.Context, key string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.KV.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// VersionsKV hands out enrichment versions from BILAT_ENRICH_VERSIONS.
type VersionsKV struct{ KV jetstream.KeyValue }

// Next returns the stored version of seq plus one (1 the first time).
func (vk VersionsKV) Next(ctx context.Context, seq uint64) (uint32, error) {
	key := "s." + strconv.FormatUint(seq, 10)
	var last error
	for range casAttempts {
		e, err := vk.KV.Get(ctx, key)
		var cur uint64
		var rev uint64
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, fmt.Errorf("get %s: %w", key, err)
		default:
			rev = e.Revision()
			cur, _ = strconv.ParseUint(string(e.Value()), 10, 32)
		}
		next := []byte(strconv.FormatUint(cur+1, 10))
		if rev == 0 {
			_, err = vk.KV.Create(ctx, key, next)
		} else {
			_, err = vk.KV.Update(ctx, key, next, rev)
		}
		if err == nil {
			return uint32(cur + 1), nil
		}
		last = err
	}
	return 0, fmt.Errorf("update %s: %w", key, last)
}

// StreamEvents reads events back from BILAT_EVENTS.
type StreamEvents struct{ Stream jetstream.Stream }

// Get reads the event at seq.
func (s StreamEvents) Get(ctx context.Context, seq uint64) (app.Event, error) {
	m, err := s.Stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return app.Event{}, app.ErrEventGone
	}
	if err != nil {
		return app.Event{}, fmt.Errorf("get %s message %d: %w", natsx.StreamEvents, seq, err)
	}
	return app.Event{
		Subject: m.Subject, Data: m.Data, MsgID: m.Header.Get(natsx.HeaderMsgID),
		Traceparent: m.Header.Get(natsx.HeaderTraceparent), Tracestate: m.Header.Get(natsx.HeaderTracestate),
		StreamSequence: seq,
	}, nil
}
