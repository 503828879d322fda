package projection

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Page sizes of ListAgreements.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// readRecord queues the read of an agreement's current version: its whole
// wire encoding, the "pb" field of its record HASH (see wire.go). A
// record without one (nothing, or a move or retraction tombstone) answers
// redis.Nil.
func readRecord(ctx context.Context, p redis.Pipeliner, key string) *redis.StringCmd {
	return p.HGet(ctx, key, fieldData)
}

// recordBytes is readRecord's answer; ok is false when the record has no
// current version. The bytes are Redis' reply itself, not a copy
// (StringCmd.Bytes): the caller must not change them.
func recordBytes(cmd *redis.StringCmd) (b []byte, ok bool, err error) {
	b, err = cmd.Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return b, len(b) > 0, nil
}

// GetAgreement returns the current version of an agreement, or ErrNotFound.
func (s *Store) GetAgreement(ctx context.Context, id string) (*bilatv1.Agreement, error) {
	b, err := s.GetAgreementWire(ctx, id)
	if err != nil {
		return nil, err
	}
	a, err := DecodeAgreement(b)
	if err != nil {
		return nil, fmt.Errorf("get agreement %q: %w", id, err)
	}
	return a, nil
}

// GetAgreementWire is GetAgreement's answer in its wire encoding (see
// wire.go), or ErrNotFound. The bytes are Redis' reply, for the caller to
// forward or decode but not to change.
func (s *Store) GetAgreementWire(ctx context.Context, id string) ([]byte, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var loc *redis.StringCmd
	if err := s.read(ctx, 1, func(p redis.Pipeliner) { loc = p.Get(ctx, s.keys.AgreementLocation(id)) }); err != nil {
		return nil, fmt.Errorf("get agreement %q: %w", id, err)
	}
	partner, err := loc.Result()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get agreement %q location: %w", id, err)
	}
	var rec *redis.StringCmd
	if err := s.read(ctx, 1, func(p redis.Pipeliner) { rec = readRecord(ctx, p, s.keys.AgreementDoc(partner, id)) }); err != nil {
		return nil, fmt.Errorf("get agreement %q: %w", id, err)
	}
	b, ok, err := recordBytes(rec)
	if err != nil {
		return nil, fmt.Errorf("get agreement %q: %w", id, err)
	}
	if !ok {
		// Nothing or a move tombstone: the location moved ahead of the
		// apply step (a crash between them); the record becomes visible
		// when the event is redelivered.
		return nil, ErrNotFound
	}
	return b, nil
}

// AgreementFilter selects agreements. Zero fields do not filter; a year
// range with either end set leaves undated agreements out.
type AgreementFilter struct {
	Partner  string
	Domain   bilatv1.Domain
	FromYear int32
	ToYear   int32
}

// tokenCheck binds a cursor position to the filter it was issued for, so a
// token used with other filters, or edited, is refused.
func (f AgreementFilter) tokenCheck(score int64, member string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "v%d|%s|%d|%d|%d|%d|%s",
		pageTokenVersion, f.Partner, f.Domain, f.FromYear, f.ToYear, score, member))
	return hex.EncodeToString(sum[:8])
}

// AgreementPage is one page of ListAgreements. Its agreements are kept in
// their wire encoding (see wire.go), which the gateway forwards as it is;
// Agreements decodes them. As GetAgreementWire's, the bytes are read-only.
type AgreementPage struct {
	Wire          [][]byte // bilat.v1.Agreement encodings, in page order
	NextPageToken string   // empty on the last page
	TotalSize     int64    // agreements matching the filter
}

// Agreements decodes the page's agreements.
func (p *AgreementPage) Agreements() ([]*bilatv1.Agreement, error) {
	out := make([]*bilatv1.Agreement, len(p.Wire))
	for i, b := range p.Wire {
		a, err := DecodeAgreement(b)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// pageToken is the opaque cursor: the last entry returned (score, member)
// and a check hash over them and the filter it was issued for.
type pageToken struct {
	V int    `json:"v"`
	S int64  `json:"s"`
	M string `json:"m"`
	C string `json:"c"`
}

const pageTokenVersion = 1

func encodePageToken(t pageToken) string {
	t.V = pageTokenVersion
	b, _ := json.Marshal(t) // a struct of strings and ints always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(s string, f AgreementFilter) (pageToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, fmt.Errorf("%w: not base64url", ErrInvalidPageToken)
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil {
		return pageToken{}, fmt.Errorf("%w: malformed", ErrInvalidPageToken)
	}
	if t.V != pageTokenVersion || t.M == "" {
		return pageToken{}, fmt.Errorf("%w: malformed", ErrInvalidPageToken)
	}
	if t.C != f.tokenCheck(t.S, t.M) {
		return pageToken{}, fmt.Errorf("%w: issued for other filters or altered", ErrInvalidPageToken)
	}
	return t, nil
}

// scoreRange is the ZSET score range of a year range for DateScore and
// PeriodScore; with either end set, score 0 (undated) is left out.
func scoreRange(from, to int32) (lo, hi string, loN, hiN int64) {
	loN, hiN = -1<<62, 1<<62
	lo, hi = "-inf", "+inf"
	if from == 0 && to == 0 {
		return lo, hi, loN, hiN
	}
	loN = 1
	if from > 0 {
		loN = int64(from) * 10000
	}
	lo = strconv.FormatInt(loN, 10)
	if to > 0 {
		hiN = int64(to)*10000 + 9999
		hi = strconv.FormatInt(hiN, 10)
	}
	return lo, hi, loN, hiN
}

// zpageRead is a page of a ZSET read newest first: up to count members
// and, when there are count of them, the score of the last but one, where
// a caller that reads one more than it shows resumes.
type zpageRead struct {
	members []string
	resume  int64
}

// ListAgreements returns agreements matching f, newest signing date first
// (ties by id, descending), pageSize at a time (0 means DefaultPageSize,
// capped at MaxPageSize). token is "" or a previous NextPageToken issued
// for the same filter; anything else gives ErrInvalidPageToken.
func (s *Store) ListAgreements(ctx context.Context, f AgreementFilter, pageSize int, token string) (*AgreementPage, error) {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	pageSize = min(pageSize, MaxPageSize)
	lo, hi, loN, hiN := scoreRange(f.FromYear, f.ToYear)
	var cursor *pageToken
	if token != "" {
		t, err := decodePageToken(token, f)
		if err != nil {
			return nil, err
		}
		if t.S < loN || t.S > hiN {
			return nil, fmt.Errorf("%w: position outside the filter", ErrInvalidPageToken)
		}
		cursor = &t
	}
	if f.Partner != "" && !validCode(f.Partner) {
		return &AgreementPage{}, nil // no record can be stored under such a code
	}
	key := s.agreementIndex(f)
	// The count and the page in one round trip.
	var count *redis.IntCmd
	var pageQ pageCmd
	if err := s.read(ctx, 3, func(p redis.Pipeliner) {
		if lo == "-inf" && hi == "+inf" {
			count = p.ZCard(ctx, key) // O(1); ZCOUNT walks a small ZSET's entries
		} else {
			count = p.ZCount(ctx, key, lo, hi)
		}
		pageQ = queuePage(ctx, p, key, lo, hi, cursor, pageSize+1)
	}); err != nil {
		return nil, fmt.Errorf("list agreements: %w", err)
	}
	total, err := count.Result()
	if err != nil {
		return nil, fmt.Errorf("count agreements: %w", err)
	}
	pg, err := s.pageResult(ctx, pageQ, key, lo, hi, cursor, pageSize+1)
	if err != nil {
		return nil, fmt.Errorf("list agreements: %w", err)
	}
	page := &AgreementPage{TotalSize: total}
	ids := pg.members
	if len(ids) > pageSize {
		ids = ids[:pageSize]
		last := ids[pageSize-1]
		page.NextPageToken = encodePageToken(pageToken{S: pg.resume, M: last, C: f.tokenCheck(pg.resume, last)})
	}
	page.Wire, err = s.agreementsByID(ctx, f.Partner, ids)
	if err != nil {
		return nil, fmt.Errorf("list agreements: %w", err)
	}
	return page, nil
}

// agreementIndex picks the ZSET that answers f without scanning.
func (s *Store) agreementIndex(f AgreementFilter) string {
	switch {
	case f.Partner != "" && f.Domain != bilatv1.Domain_DOMAIN_UNSPECIFIED:
		return s.keys.AgreementsByDomain(f.Partner, DomainName(f.Domain))
	case f.Partner != "":
		return s.keys.AgreementsByDate(f.Partner)
	case f.Domain != bilatv1.Domain_DOMAIN_UNSPECIFIED:
		return s.keys.AllAgreementsByDomain(DomainName(f.Domain))
	default:
		return s.keys.AllAgreements()
	}
}

// zpage reads up to count entries of key in [lo, hi], highest score first,
// after the cursor.
func (s *Store) zpage(ctx context.Context, key, lo, hi string, cursor *pageToken, count int) (zpageRead, error) {
	v, err := listPageScript.Run(ctx, s.rdb, []string{key}, pageArgs(hi, lo, cursor, count)...).StringSlice()
	if err != nil {
		return zpageRead{}, fmt.Errorf("page script: %w", err)
	}
	return s.pageEntries(ctx, v, key, lo, cursor, count)
}

// pageCmd is a page queued by queuePage: a first page over every year is
// two ZRANGEs by rank (the members, and the entry a next page resumes
// after, with its score), a first page within years one ZRANGE by score,
// a page after a cursor the page script.
type pageCmd struct {
	ranked *redis.StringSliceCmd
	resume *redis.ZSliceCmd
	first  *redis.ZSliceCmd
	script *redis.Cmd
}

// queuePage queues zpage's reads in a pipeline. A first page needs no
// cursor resolved, so it is plain ZRANGEs: Redis spent about two thirds
// of the page script's time in Lua, converting the entries to and from Lua
// strings (docs/benchmarks.md). Over every year (the common first page) it
// reads by rank, which Redis finds without walking the entries before it,
// and asks for one score instead of count: Redis 7.0 formats each score
// with printf, over two fifths of a score-range read of 51 entries. A later
// page queues the script (EvalSha: pageResult runs zpage, which loads it,
// when Redis does not have it).
func queuePage(ctx context.Context, pipe redis.Pipeliner, key, lo, hi string, cursor *pageToken, count int) pageCmd {
	switch {
	case cursor != nil:
		return pageCmd{script: listPageScript.EvalSha(ctx, pipe, []string{key}, pageArgs(hi, lo, cursor, count)...)}
	case lo == "-inf" && hi == "+inf" && count > 1:
		return pageCmd{
			ranked: pipe.ZRangeArgs(ctx, redis.ZRangeArgs{Key: key, Start: 0, Stop: count - 1, Rev: true}),
			resume: pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: key, Start: count - 2, Stop: count - 2, Rev: true}),
		}
	default:
		return pageCmd{first: pipe.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: key, Start: hi, Stop: lo, ByScore: true, Rev: true, Count: int64(count),
		})}
	}
}

// pageResult is zpage's answer from the commands queuePage queued.
func (s *Store) pageResult(ctx context.Context, cmd pageCmd, key, lo, hi string, cursor *pageToken, count int) (zpageRead, error) {
	switch {
	case cmd.ranked != nil:
		ms, err := cmd.ranked.Result()
		if err != nil {
			return zpageRead{}, fmt.Errorf("first page: %w", err)
		}
		if len(ms) < count {
			return zpageRead{members: ms}, nil
		}
		zs, err := cmd.resume.Result()
		if err != nil {
			return zpageRead{}, fmt.Errorf("first page: %w", err)
		}
		if len(zs) == 1 && zs[0].Member == ms[count-2] {
			return zpageRead{members: ms, resume: int64(zs[0].Score)}, nil
		}
		// A write between the two reads moved the entries: read the
		// page again, with every score, in one command.
		zs, err = s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: key, Start: 0, Stop: count - 1, Rev: true}).Result()
		if err != nil {
			return zpageRead{}, fmt.Errorf("first page: %w", err)
		}
		return zpageOf(zs, count), nil
	case cmd.first != nil:
		zs, err := cmd.first.Result()
		if err != nil {
			return zpageRead{}, fmt.Errorf("first page: %w", err)
		}
		return zpageOf(zs, count), nil
	}
	v, err := cmd.script.StringSlice()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		return s.zpage(ctx, key, lo, hi, cursor, count)
	}
	if err != nil {
		return zpageRead{}, fmt.Errorf("page script: %w", err)
	}
	return s.pageEntries(ctx, v, key, lo, cursor, count)
}

func pageArgs(hi, lo string, cursor *pageToken, count int) []any {
	curScore, curMember := "", ""
	if cursor != nil {
		curScore, curMember = strconv.FormatInt(cursor.S, 10), cursor.M
	}
	return []any{hi, lo, count, curScore, curMember}
}

// pageEntries reads the page script's reply: member/score pairs, or
// "gone", when the cursor's member moved and the ties are skipped here.
func (s *Store) pageEntries(ctx context.Context, v []string, key, lo string, cursor *pageToken, count int) (zpageRead, error) {
	if len(v) == 1 && v[0] == "gone" {
		return s.zpageSlow(ctx, key, lo, cursor, count)
	}
	if len(v)%2 != 0 {
		return zpageRead{}, fmt.Errorf("odd member/score reply of %d items", len(v))
	}
	pg := zpageRead{members: make([]string, len(v)/2)}
	for i := range pg.members {
		pg.members[i] = v[2*i]
	}
	if len(pg.members) == count && count > 1 {
		sc, err := strconv.ParseFloat(v[2*(count-2)+1], 64)
		if err != nil {
			return zpageRead{}, fmt.Errorf("score %q: %w", v[2*(count-2)+1], err)
		}
		pg.resume = int64(sc)
	}
	return pg, nil
}

// zpageSlow resumes after a cursor whose member was removed or rescored
// since the previous page: it skips the tied entries ordered before the
// cursor member itself (Redis orders ties by bytes, as Go compares strings).
func (s *Store) zpageSlow(ctx context.Context, key, lo string, cursor *pageToken, count int) (zpageRead, error) {
	const batch = 256
	score := strconv.FormatInt(cursor.S, 10)
	skip := int64(0)
	for off := int64(0); ; off += batch {
		ms, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{
			Key: key, Start: score, Stop: score, ByScore: true, Rev: true, Offset: off, Count: batch,
		}).Result()
		if err != nil {
			return zpageRead{}, fmt.Errorf("skip ties: %w", err)
		}
		done := len(ms) < batch
		for _, m := range ms {
			if m < cursor.M {
				done = true
				break
			}
			skip++
		}
		if done {
			break
		}
	}
	zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
		Key: key, Start: score, Stop: lo, ByScore: true, Rev: true, Offset: skip, Count: int64(count),
	}).Result()
	if err != nil {
		return zpageRead{}, fmt.Errorf("page after ties: %w", err)
	}
	return zpageOf(zs, count), nil
}

// zpageOf is the page of entries read with their scores.
func zpageOf(zs []redis.Z, count int) zpageRead {
	pg := zpageRead{members: make([]string, len(zs))}
	for i, z := range zs {
		pg.members[i], _ = z.Member.(string)
	}
	if len(zs) == count && count > 1 {
		pg.resume = int64(zs[count-2].Score)
	}
	return pg
}

// agreementsByID loads agreements in order, in their wire encoding (one
// HGET each, the bytes as Redis returned them); partner "" looks each one
// up in the location index. Ids whose record vanished meanwhile are
// skipped.
func (s *Store) agreementsByID(ctx context.Context, partner string, ids []string) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	partners := make([]string, len(ids))
	if partner != "" {
		for i := range partners {
			partners[i] = partner
		}
	} else {
		cmds := make([]*redis.StringCmd, len(ids))
		if err := s.read(ctx, len(ids), func(p redis.Pipeliner) {
			for i, id := range ids {
				cmds[i] = p.Get(ctx, s.keys.AgreementLocation(id))
			}
		}); err != nil {
			return nil, fmt.Errorf("read locations: %w", err)
		}
		for i, c := range cmds {
			p, err := c.Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, fmt.Errorf("read location of %q: %w", ids[i], err)
			}
			partners[i] = p
		}
	}
	cmds := make([]*redis.StringCmd, len(ids))
	if err := s.read(ctx, len(ids), func(p redis.Pipeliner) {
		for i, id := range ids {
			if partners[i] != "" {
				cmds[i] = readRecord(ctx, p, s.keys.AgreementDoc(partners[i], id))
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("read agreements: %w", err)
	}
	out := make([][]byte, 0, len(ids))
	for i, c := range cmds {
		if c == nil {
			continue
		}
		b, ok, err := recordBytes(c)
		if err != nil {
			return nil, fmt.Errorf("read agreement %q: %w", ids[i], err)
		}
		if ok {
			out = append(out, b)
		}
	}
	return out, nil
}

// TradeFilter selects a partner's trade figures. Zero fields other than
// Partner do not filter.
type TradeFilter struct {
	Partner  string
	Reporter string
	Flow     bilatv1.TradeFlow
	FromYear int32
	ToYear   int32
}

// GetTradeSeries returns the partner's figures grouped by reporter, period,
// flow and scope, ordered by period, then flow, reporter and scope; the
// figures of a point come newest source first.
func (s *Store) GetTradeSeries(ctx context.Context, f TradeFilter) ([]*bilatv1.TradePoint, error) {
	wire, err := s.GetTradeSeriesWire(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]*bilatv1.TradePoint, len(wire))
	for i, wp := range wire {
		tp := wp.Point
		for _, b := range wp.Figures {
			fig := &bilatv1.TradeFigure{}
			if err := proto.Unmarshal(b, fig); err != nil {
				return nil, fmt.Errorf("decode trade figure: %w", err)
			}
			tp.Figures = append(tp.Figures, fig)
		}
		out[i] = tp
	}
	return out, nil
}

// WirePoint is a TradePoint whose figures are kept in their wire encoding
// (see wire.go), for readers that forward them.
type WirePoint struct {
	Point   *bilatv1.TradePoint // reporter, period, flow and scope; no figures
	Figures [][]byte            // bilat.v1.TradeFigure encodings, newest source first
}

// GetTradeSeriesWire is GetTradeSeries with the figures in their wire
// encoding: only their period and sources' dates are decoded, to order
// them. Two commands read any series: the partner's figure index over the
// period range, then one HMGET of the chosen figures' current versions.
func (s *Store) GetTradeSeriesWire(ctx context.Context, f TradeFilter) ([]WirePoint, error) {
	if !validCode(f.Partner) {
		return nil, nil
	}
	lo, hi, _, _ := scoreRange(f.FromYear, f.ToYear)
	// One flow's figures have an index of their own; every flow's are the
	// union of all the indexes.
	keys := []string{s.keys.TradeFigures(f.Partner, f.Flow)}
	if f.Flow == bilatv1.TradeFlow_TRADE_FLOW_UNSPECIFIED {
		keys = s.keys.TradeFigureIndexes(f.Partner)
	}
	index := make([]*redis.StringSliceCmd, len(keys))
	if err := s.read(ctx, len(keys), func(p redis.Pipeliner) {
		for i, key := range keys {
			index[i] = p.ZRangeArgs(ctx, redis.ZRangeArgs{Key: key, Start: lo, Stop: hi, ByScore: true})
		}
	}); err != nil {
		return nil, fmt.Errorf("trade figure index: %w", err)
	}
	type point struct {
		parts seriesParts
		ids   []string
	}
	var points []point
	slot := map[string]int{} // series key -> index in points
	var ids []string
	for _, cmd := range index {
		members, err := cmd.Result()
		if err != nil {
			return nil, fmt.Errorf("trade figure index: %w", err)
		}
		for _, m := range members {
			series, parts, id, ok := parseFigureMember(m)
			if !ok {
				return nil, fmt.Errorf("malformed trade figure index member %q", m)
			}
			// The flow is checked too: flows this build does not know
			// share an index.
			if (f.Reporter != "" && parts.reporter != f.Reporter) ||
				(f.Flow != bilatv1.TradeFlow_TRADE_FLOW_UNSPECIFIED && parts.flow != f.Flow) {
				continue
			}
			n, ok := slot[series]
			if !ok {
				n = len(points)
				slot[series] = n
				points = append(points, point{parts: parts})
			}
			points[n].ids = append(points[n].ids, id)
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	vals, err := s.currentFigures(ctx, f.Partner, ids)
	if err != nil {
		return nil, err
	}
	type figure struct {
		id   string
		wire []byte
		view figureView
	}
	out := make([]WirePoint, 0, len(points))
	var figs []figure
	for _, p := range points {
		figs = figs[:0]
		for _, id := range p.ids {
			v := vals[0]
			vals = vals[1:]
			if v == nil {
				continue // replaced or removed since the index was read
			}
			b, err := currentWire(v)
			if err != nil {
				return nil, fmt.Errorf("trade figure %q: %w", id, err)
			}
			fv, err := viewFigure(b)
			if err != nil {
				return nil, fmt.Errorf("trade figure %q: %w", id, err)
			}
			figs = append(figs, figure{id: id, wire: b, view: fv})
		}
		if len(figs) == 0 {
			continue
		}
		slices.SortFunc(figs, func(a, b figure) int {
			return cmp.Or(cmp.Compare(b.view.newestSource, a.view.newestSource), strings.Compare(a.id, b.id))
		})
		period, err := figs[0].view.decodePeriod()
		if err != nil {
			return nil, fmt.Errorf("trade figure %q: %w", figs[0].id, err)
		}
		tp := &bilatv1.TradePoint{Reporter: p.parts.reporter, Flow: p.parts.flow, Scope: p.parts.scope, Period: period}
		wp := WirePoint{Point: tp, Figures: make([][]byte, len(figs))}
		for n, fg := range figs {
			wp.Figures[n] = fg.wire
		}
		out = append(out, wp)
	}
	slices.SortFunc(out, func(x, y WirePoint) int {
		a, b := x.Point, y.Point
		return cmp.Or(
			cmp.Compare(PeriodScore(a.GetPeriod()), PeriodScore(b.GetPeriod())),
			cmp.Compare(a.GetFlow(), b.GetFlow()),
			strings.Compare(a.GetReporter(), b.GetReporter()),
			cmp.Compare(a.GetScope(), b.GetScope()),
		)
	})
	return out, nil
}

// maxFieldsPerHMGet bounds one HMGET of currentFigures, so a partner with
// many figures does not make one huge command (the rest follow in the
// same pipeline).
const maxFieldsPerHMGet = 1000

// currentFigures reads the TradeCurrent values of ids, nil for an id that
// has none, in the order of ids.
func (s *Store) currentFigures(ctx context.Context, partner string, ids []string) ([]any, error) {
	var cmds []*redis.SliceCmd
	n := (len(ids) + maxFieldsPerHMGet - 1) / maxFieldsPerHMGet
	if err := s.read(ctx, n, func(p redis.Pipeliner) {
		for start := 0; start < len(ids); start += maxFieldsPerHMGet {
			cmds = append(cmds, p.HMGet(ctx, s.keys.TradeCurrent(partner), ids[start:min(start+maxFieldsPerHMGet, len(ids))]...))
		}
	}); err != nil {
		return nil, fmt.Errorf("trade figures: %w", err)
	}
	vals := make([]any, 0, len(ids))
	for _, c := range cmds {
		v, err := c.Result()
		if err != nil {
			return nil, fmt.Errorf("trade figures: %w", err)
		}
		vals = append(vals, v...)
	}
	if len(vals) != len(ids) {
		return nil, fmt.Errorf("trade figures: %d values for %d ids", len(vals), len(ids))
	}
	return vals, nil
}

// currentWire is the wire encoding of a TradeCurrent value
// "<revision>:<updated>:<bytes>" (see wire.go).
func currentWire(v any) ([]byte, error) {
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("current version is %T, not a string", v)
	}
	rev, rest, ok1 := strings.Cut(str, ":")
	updated, data, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("malformed current version %.40q", str)
	}
	ver, err := parseVersion(rev, updated)
	if err != nil {
		return nil, err
	}
	return wireRecord(data, ver, figureOwned), nil
}

// AgreementCounts counts a partner's agreements by domain and signing year
// within [from, to] (0 leaves an end open; with either end set, undated
// agreements are left out). An unknown partner has no counts.
func (s *Store) AgreementCounts(ctx context.Context, partner string, from, to int32) (*bilatv1.GetAgreementCountsResponse, error) {
	resp := &bilatv1.GetAgreementCountsResponse{Partner: partner}
	if !validCode(partner) {
		return resp, nil
	}
	h, err := s.rdb.HGetAll(ctx, s.keys.AgreementCounts(partner)).Result()
	if err != nil {
		return nil, fmt.Errorf("agreement counts of %q: %w", partner, err)
	}
	open := from == 0 && to == 0
	inRange := func(y int32) bool {
		if open {
			return true
		}
		return y != 0 && (from == 0 || y >= from) && (to == 0 || y <= to)
	}
	var distinct int64
	for field, val := range h {
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("count %q=%q: %w", field, val, err)
		}
		if field == "total" {
			if open {
				resp.TotalAgreements = n
			}
			continue
		}
		if strings.Count(field, "|") > 1 {
			continue // level, status and kind counts: see AgreementStats
		}
		i := strings.LastIndexByte(field, '|')
		if i < 0 {
			return nil, fmt.Errorf("malformed count field %q", field)
		}
		y, err := strconv.ParseInt(field[i+1:], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("count field %q: %w", field, err)
		}
		if !inRange(int32(y)) {
			continue
		}
		name := field[:i]
		switch name {
		case "all":
			distinct += n
			continue
		case NoDomain:
			resp.Counts = append(resp.Counts, &bilatv1.AgreementCount{Year: int32(y), Count: n})
			continue
		}
		d, ok := ParseDomain(name)
		if !ok {
			return nil, fmt.Errorf("count field %q: unknown domain", field)
		}
		resp.Counts = append(resp.Counts, &bilatv1.AgreementCount{Domain: d, Year: int32(y), Count: n})
	}
	if !open {
		resp.TotalAgreements = distinct
	}
	slices.SortFunc(resp.Counts, func(a, b *bilatv1.AgreementCount) int {
		return cmp.Or(cmp.Compare(a.GetYear(), b.GetYear()), cmp.Compare(a.GetDomain(), b.GetDomain()))
	})
	return resp, nil
}
