package projection

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// Layout is the version of the key layout this package writes and reads.
// It changes whenever a build cannot read what an older one wrote, so that
// statistics rebuilds such projections from the streams at start instead
// of serving them wrongly.
//
//	1 (no marker): trade figures in per-series SETs, bytes in their HASH
//	2: trade figures in the partner's trade:figs index and trade:cur HASH
//	3: one figure index per flow (trade:figs:<flow>)
//	4: an agreement's "pb" holds its whole wire encoding, revision and
//	   updated_at included; its record HASH has no "updated"
const Layout = 4

// layoutRebuilding is the marker's value while a rebuild has dropped the
// projections and not yet restarted the replay: a rebuild that was cut
// short there is started again.
const layoutRebuilding = "rebuilding"

// LayoutMarker is the STRING holding the Layout of the stored projections
// (or "rebuilding"). It describes the projections, so DeleteAll and
// Checksum leave it out.
func (k Keys) LayoutMarker() string { return k.prefix + "meta:layout" }

// NeedsRebuild tells whether the stored projections must be rebuilt
// before this build can serve them: they were written under another
// layout, or a rebuild stopped between dropping them and restarting the
// replay. An empty store is marked with the current layout and needs none.
func (s *Store) NeedsRebuild(ctx context.Context) (bool, string, error) {
	v, err := s.rdb.Get(ctx, s.keys.LayoutMarker()).Result()
	switch {
	case err == nil && v == strconv.Itoa(Layout):
		return false, "", nil
	case err == nil && v == layoutRebuilding:
		return true, "a rebuild was interrupted", nil
	case err == nil:
		return true, fmt.Sprintf("the projections have layout %s, this build reads %d", v, Layout), nil
	case !errors.Is(err, redis.Nil):
		return false, "", fmt.Errorf("read layout marker: %w", err)
	}
	// No marker: an empty store, or one written before markers existed
	// (layout 1). Every applied record adds its partner to the partners set.
	n, err := s.rdb.Exists(ctx, s.keys.Partners()).Result()
	if err != nil {
		return false, "", fmt.Errorf("read partners index: %w", err)
	}
	if n > 0 {
		return true, fmt.Sprintf("the projections have layout 1, this build reads %d", Layout), nil
	}
	// SET NX: a rebuild that started meanwhile keeps its own marker.
	if err := s.rdb.SetNX(ctx, s.keys.LayoutMarker(), Layout, 0).Err(); err != nil {
		return false, "", fmt.Errorf("write layout marker: %w", err)
	}
	return false, "", nil
}

// MarkRebuilding records that a rebuild is about to drop the projections.
func (s *Store) MarkRebuilding(ctx context.Context) error {
	if err := s.rdb.Set(ctx, s.keys.LayoutMarker(), layoutRebuilding, 0).Err(); err != nil {
		return fmt.Errorf("write layout marker: %w", err)
	}
	return nil
}

// MarkLayout records that the projections are (being) written under
// Layout: called once a rebuild's replay has restarted.
func (s *Store) MarkLayout(ctx context.Context) error {
	if err := s.rdb.Set(ctx, s.keys.LayoutMarker(), Layout, 0).Err(); err != nil {
		return fmt.Errorf("write layout marker: %w", err)
	}
	return nil
}
