package adapters

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/app"
)

func TestBucketsTrackVersionAndWatch(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx := context.Background()
	b, err := EnsureBuckets(ctx, n.JS, natsx.StreamsConfig{})
	if err != nil {
		t.Fatal(err)
	}

	u := &UnresolvedKV{KV: b.Unresolved}
	ref := func(name string) *bilatv1.EntityRef {
		return &bilatv1.EntityRef{Name: name, Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}
	}
	// The same name twice on one event (partner and party), a redelivery,
	// and a spelling with the same match form: counted per event.
	for _, step := range []struct {
		seq  uint64
		refs []*bilatv1.EntityRef
	}{
		{7, []*bilatv1.EntityRef{ref("Kartli"), ref("Kartli")}},
		{7, []*bilatv1.EntityRef{ref("Kartli")}},
		{9, []*bilatv1.EntityRef{ref("KARTLI!"), ref("Other place")}},
	} {
		if err := u.Track(ctx, step.seq, step.refs); err != nil {
			t.Fatal(err)
		}
	}
	list, err := u.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]app.UnresolvedEntry{}
	for _, e := range list {
		byName[e.Name] = e
	}
	if k := byName["Kartli"]; k.Count != 2 || !slices.Equal(k.Sequences, []uint64{7, 9}) || k.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED {
		t.Errorf("Kartli = %+v, want count 2, sequences [7 9]", k)
	}
	if o := byName["Other place"]; o.Count != 1 || len(list) != 2 {
		t.Errorf("entries = %+v", list)
	}
	if err := u.Delete(ctx, byName["Kartli"].Key); err != nil {
		t.Fatal(err)
	}
	if list, _ := u.List(ctx); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}

	// Versions: concurrent callers each get a distinct next version.
	v := VersionsKV{KV: b.Versions}
	var mu sync.Mutex
	var got []uint32
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, err := v.Next(ctx, 42)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, x)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(got)
	if !slices.Equal(got, []uint32{1, 2, 3, 4, 5}) {
		t.Errorf("versions = %v", got)
	}

	// Aliases: stored ones are applied before WatchAliases returns, later
	// ones as they come.
	a := AliasKV{KV: b.Aliases}
	if err := a.Put(ctx, "Kartli", "GE"); err != nil {
		t.Fatal(err)
	}
	var amu sync.Mutex
	var last map[string]string
	w, err := WatchAliases(ctx, b.Aliases, func(m map[string]string) { amu.Lock(); last = m; amu.Unlock() }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)
	amu.Lock()
	if last["Kartli"] != "GE" {
		t.Errorf("initial aliases = %v", last)
	}
	amu.Unlock()
	if err := a.Put(ctx, "Kakhetia", "GE-KA"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "the new alias applied", func() bool {
		amu.Lock()
		defer amu.Unlock()
		return last["Kakhetia"] == "GE-KA" && last["Kartli"] == "GE"
	})

	// Reading events back: a missing sequence is ErrEventGone.
	s, err := n.JS.Stream(ctx, natsx.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (StreamEvents{Stream: s}).Get(ctx, 999); !errors.Is(err, app.ErrEventGone) {
		t.Errorf("missing event: %v", err)
	}
}
