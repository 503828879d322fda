package projection

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

const scanBatch = 1000

// checksumWindow is the most projection keys Checksum holds at once (half
// as many again while it scans): a store with more keys is read in
// several passes, each scanning every key and keeping the next window in
// key order, so a checksum of millions of keys fits in the statistics
// pod's memory at the cost of scanning them more than once.
var checksumWindow = 100_000

// keysAfter returns, sorted and without repeats, the first limit projection
// keys (every key under the prefix but the layout marker) above after,
// and whether keys above those were left out. SCAN may return a key more
// than once; a repeat only takes a place until the keys are compacted.
func (s *Store) keysAfter(ctx context.Context, after string, limit int) ([]string, bool, error) {
	var keys []string
	var bound string // once keys were left out, none above bound is among the first limit
	more := false
	trim := func() {
		slices.Sort(keys)
		keys = slices.Compact(keys)
		if len(keys) > limit {
			keys, more = keys[:limit], true
			bound = keys[limit-1]
		}
	}
	iter := s.rdb.Scan(ctx, 0, escapeGlob(s.keys.prefix)+"*", scanBatch).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		if k <= after || k == s.keys.LayoutMarker() || (more && k > bound) {
			continue
		}
		if keys = append(keys, k); len(keys) >= limit+limit/2 {
			trim()
		}
	}
	if err := iter.Err(); err != nil {
		return nil, false, fmt.Errorf("scan projection keys: %w", err)
	}
	trim()
	return keys, more, nil
}

// escapeGlob quotes the glob characters of a literal prefix for SCAN MATCH.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DeleteAll unlinks every projection key (every key with the prefix but
// the layout marker) and returns how many there were. Used by a rebuild,
// with the writer stopped.
func (s *Store) DeleteAll(ctx context.Context) (int64, error) {
	// Each page of the scan is unlinked as it comes, so no list of every
	// key is held. Keys that stay in place are returned by SCAN however
	// many others it deletes meanwhile.
	var n int64
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, escapeGlob(s.keys.prefix)+"*", scanBatch).Result()
		if err != nil {
			return n, fmt.Errorf("scan projection keys: %w", err)
		}
		// One UNLINK per key keeps it cluster-safe (keys of many slots).
		pipe := s.rdb.Pipeline()
		var cmds []*redis.IntCmd
		for _, k := range keys {
			if k != s.keys.LayoutMarker() {
				cmds = append(cmds, pipe.Unlink(ctx, k))
			}
		}
		if len(cmds) > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return n, fmt.Errorf("unlink projection keys: %w", err)
			}
		}
		for _, c := range cmds {
			n += c.Val() // 0 for a key the scan returned twice
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
}

// Checksum is a hex SHA-256 over every projection key, in key order, with
// its type and canonical content (hash fields sorted, sorted-set members
// with scores in rank order, set members sorted), and the number of keys.
// Stored values depend only on the events, so projections rebuilt from the
// streams have the checksum of the live ones.
func (s *Store) Checksum(ctx context.Context) (string, int64, error) {
	h := sha256.New()
	var n int64
	for after := ""; ; {
		keys, more, err := s.keysAfter(ctx, after, checksumWindow)
		if err != nil {
			return "", 0, err
		}
		m, err := s.hashKeys(ctx, h, keys)
		if err != nil {
			return "", 0, err
		}
		n += m
		if !more {
			return hex.EncodeToString(h.Sum(nil)), n, nil
		}
		after = keys[len(keys)-1]
	}
}

// hashKeys writes each key's type and canonical content to h, in the
// order given, and returns how many of the keys still existed.
func (s *Store) hashKeys(ctx context.Context, h io.Writer, keys []string) (int64, error) {
	var n int64
	for start := 0; start < len(keys); start += scanBatch {
		batch := keys[start:min(start+scanBatch, len(keys))]
		pipe := s.rdb.Pipeline()
		types := make([]*redis.StatusCmd, len(batch))
		for i, k := range batch {
			types[i] = pipe.Type(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return n, fmt.Errorf("checksum key types: %w", err)
		}
		pipe = s.rdb.Pipeline()
		vals := make([]redis.Cmder, len(batch))
		for i, k := range batch {
			switch types[i].Val() {
			case "hash":
				vals[i] = pipe.HGetAll(ctx, k)
			case "zset":
				vals[i] = pipe.ZRangeWithScores(ctx, k, 0, -1)
			case "set":
				vals[i] = pipe.SMembers(ctx, k)
			case "string":
				vals[i] = pipe.Get(ctx, k)
			case "none":
				// Deleted between the scan and now.
			default:
				return n, fmt.Errorf("checksum: key %q has unexpected type %q", k, types[i].Val())
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return n, fmt.Errorf("checksum key contents: %w", err)
		}
		for i, k := range batch {
			if vals[i] == nil {
				continue
			}
			n++
			var parts []string
			switch c := vals[i].(type) {
			case *redis.MapStringStringCmd:
				for f, v := range c.Val() {
					parts = append(parts, strconv.Quote(f)+"="+strconv.Quote(v))
				}
				slices.Sort(parts)
			case *redis.ZSliceCmd:
				for _, z := range c.Val() {
					parts = append(parts, fmt.Sprintf("%q@%s", z.Member, strconv.FormatFloat(z.Score, 'g', -1, 64)))
				}
			case *redis.StringSliceCmd:
				for _, m := range c.Val() {
					parts = append(parts, strconv.Quote(m))
				}
				slices.Sort(parts)
			case *redis.StringCmd:
				parts = append(parts, strconv.Quote(c.Val()))
			}
			fmt.Fprintf(h, "%q %s %d\n%s\n", k, types[i].Val(), len(parts), strings.Join(parts, "\n"))
		}
	}
	return n, nil
}

// PartnerCodes lists every partner that has received a record, sorted.
func (s *Store) PartnerCodes(ctx context.Context) ([]string, error) {
	ps, err := s.rdb.SMembers(ctx, s.keys.Partners()).Result()
	if err != nil {
		return nil, fmt.Errorf("partners index: %w", err)
	}
	slices.Sort(ps)
	return ps, nil
}

// DimensionCount is one cell of the agreement counts: the number of
// agreements with Value of Dimension ("domain", "level", "status", "kind")
// signed in Year (0: undated).
type DimensionCount struct {
	Dimension string
	Value     string
	Year      int32
	Count     int64
}

// PartnerStats is one partner's agreement counts within a year range.
type PartnerStats struct {
	Partner  string
	Counts   []DimensionCount
	Distinct int64 // agreements counted once each
}

var dimNames = map[string]string{"lvl": "level", "st": "status", "kind": "kind"}

// AgreementStats reads a partner's counts by domain, level, status and kind
// per year within [from, to] (0 leaves an end open; with either end set,
// undated agreements are left out).
func (s *Store) AgreementStats(ctx context.Context, partner string, from, to int32) (*PartnerStats, error) {
	out := &PartnerStats{Partner: partner}
	if !validCode(partner) {
		return out, nil
	}
	h, err := s.rdb.HGetAll(ctx, s.keys.AgreementCounts(partner)).Result()
	if err != nil {
		return nil, fmt.Errorf("agreement counts of %q: %w", partner, err)
	}
	open := from == 0 && to == 0
	for field, val := range h {
		if field == "total" {
			continue
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("count %q=%q: %w", field, val, err)
		}
		parts := strings.Split(field, "|")
		y64, err := strconv.ParseInt(parts[len(parts)-1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("count field %q: %w", field, err)
		}
		y := int32(y64)
		if !open && (y == 0 || (from != 0 && y < from) || (to != 0 && y > to)) {
			continue
		}
		switch {
		case len(parts) == 2 && parts[0] == "all":
			out.Distinct += n
		case len(parts) == 2:
			out.Counts = append(out.Counts, DimensionCount{Dimension: "domain", Value: parts[0], Year: y, Count: n})
		case len(parts) == 3 && dimNames[parts[0]] != "":
			out.Counts = append(out.Counts, DimensionCount{Dimension: dimNames[parts[0]], Value: parts[1], Year: y, Count: n})
		default:
			return nil, fmt.Errorf("malformed count field %q", field)
		}
	}
	slices.SortFunc(out.Counts, func(a, b DimensionCount) int {
		return cmp.Or(cmp.Compare(a.Year, b.Year), strings.Compare(a.Dimension, b.Dimension), strings.Compare(a.Value, b.Value))
	})
	return out, nil
}

// AllTradeSeries reads every partner's trade points (figures per
// reporter, period, flow and scope), by partner code.
func (s *Store) AllTradeSeries(ctx context.Context, from, to int32) (map[string][]*bilatv1.TradePoint, error) {
	ps, err := s.PartnerCodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]*bilatv1.TradePoint, len(ps))
	for _, p := range ps {
		pts, err := s.GetTradeSeries(ctx, TradeFilter{Partner: p, FromYear: from, ToYear: to})
		if err != nil {
			return nil, fmt.Errorf("trade series of %q: %w", p, err)
		}
		if len(pts) > 0 {
			out[p] = pts
		}
	}
	return out, nil
}
