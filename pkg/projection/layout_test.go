package projection_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"bilat.dev/pkg/projection"
)

// NeedsRebuild marks an empty store and accepts it; it asks for a rebuild
// of projections without a marker (layout 1), of another layout, and of a
// rebuild that stopped after dropping them. The marker is no projection:
// DeleteAll keeps it and Checksum ignores it.
func TestNeedsRebuild(t *testing.T) {
	s, rdb := newStore(t)
	ctx := context.Background()
	marker := s.Keys().LayoutMarker()
	check := func(wantNeed bool, wantWhy string) {
		t.Helper()
		need, why, err := s.NeedsRebuild(ctx)
		if err != nil || need != wantNeed || !strings.Contains(why, wantWhy) {
			t.Fatalf("NeedsRebuild = %v, %q, %v; want %v, %q", need, why, err, wantNeed, wantWhy)
		}
	}
	check(false, "")
	if v := rdb.Get(ctx, marker).Val(); v != strconv.Itoa(projection.Layout) {
		t.Fatalf("an empty store is marked %q", v)
	}
	sum0, keys0, err := s.Checksum(ctx)
	if err != nil || keys0 != 0 {
		t.Fatalf("checksum of an empty store: %d keys, %v", keys0, err)
	}
	applyA(t, s, agr("e1", 1, "a1", "GE", date(2018, 0, 0)), projection.Applied)
	check(false, "")

	rdb.Del(ctx, marker)
	check(true, "layout 1")
	other := strconv.Itoa(projection.Layout - 1)
	rdb.Set(ctx, marker, other, 0)
	check(true, "layout "+other)

	if err := s.MarkRebuilding(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	check(true, "interrupted")
	if sum, keys, err := s.Checksum(ctx); err != nil || sum != sum0 || keys != 0 {
		t.Fatalf("checksum after DeleteAll = %s, %d keys, %v; want the empty store's", sum, keys, err)
	}
	if err := s.MarkLayout(ctx); err != nil {
		t.Fatal(err)
	}
	check(false, "")
}
