package projection

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// ApplyAgreements applies several enriched AgreementRecorded events with
// the guarantees of ApplyAgreement, sharing Redis round trips between them:
// one for the first step of every event (location, stored state, history),
// one for the apply script and global index entries of every record seen
// for the first time, and one for the global index syncs still needed.
// Events of records that already have a location run the per-event
// protocol after that; an event whose record already appeared earlier in
// evs runs, in order, after the rest of the batch. It returns one outcome
// and one error per event, in the order of evs; errors are as
// ApplyAgreement's (ErrInvalidEvent permanent, the others transient).
func (s *Store) ApplyAgreements(ctx context.Context, evs []*bilatv1.AgreementRecorded) ([]Outcome, []error) {
	recs := make([]batchRecord, len(evs))
	errs := make([]error, len(evs))
	for i, ev := range evs {
		r, err := s.agreementRecord(ev)
		if err != nil {
			errs[i] = err
			continue
		}
		recs[i] = r
	}
	return s.applyBatch(ctx, recs, errs)
}

// ApplyTradeFigures is ApplyAgreements for TradeFigureRecorded events.
func (s *Store) ApplyTradeFigures(ctx context.Context, evs []*bilatv1.TradeFigureRecorded) ([]Outcome, []error) {
	recs := make([]batchRecord, len(evs))
	errs := make([]error, len(evs))
	for i, ev := range evs {
		r, err := s.tradeRecord(ev)
		if err != nil {
			errs[i] = err
			continue
		}
		recs[i] = r
	}
	return s.applyBatch(ctx, recs, errs)
}

// batchRecord is a record with its error wrapping.
type batchRecord interface {
	record
	wrap(err error) error
}

// applyBatch runs the protocol of applyRecord for several records: the
// steps are the same and in the same order for each record, only the
// commands of different records share pipelines. recs[i] is nil where
// errs[i] is already set.
func (s *Store) applyBatch(ctx context.Context, recs []batchRecord, errs []error) ([]Outcome, []error) {
	outs := make([]Outcome, len(recs))
	// One event per record in the shared round trips; the next events of
	// a record run after them, in order (the protocol assumes no two
	// versions of one record are applied at once).
	seen := map[string]bool{}
	var batch, later []int
	for i, r := range recs {
		switch {
		case r == nil:
		case seen[r.locKey()]:
			later = append(later, i)
		default:
			seen[r.locKey()] = true
			batch = append(batch, i)
		}
	}
	fail := func(i int, err error) { errs[i] = recs[i].wrap(err) }

	// Round trip 1: step 1's reads, SET NX of the location, history.
	pipe := s.rdb.Pipeline()
	located := make([]locateCmds, len(recs))
	for _, i := range batch {
		located[i] = queueLocate(ctx, pipe, recs[i])
	}
	if len(batch) > 0 {
		_, _ = pipe.Exec(ctx) // errors are read per command
	}
	var here, moved []int
	locs := make([]string, len(recs))
	for _, i := range batch {
		loc, err := s.located(ctx, recs[i], located[i])
		switch {
		case err != nil:
			fail(i, err)
		case loc == recs[i].partner():
			here = append(here, i)
		default:
			locs[i] = loc
			moved = append(moved, i)
		}
	}

	// Round trip 2: the apply scripts of the records that live under the
	// event's partner already or are seen for the first time (steps 1 and
	// 2 are then done, and their state was read in round trip 1), with
	// whatever global index entries a fresh record writes speculatively.
	results := make([]applyResult, len(recs))
	var applied, ordinary []int
	if len(here) > 0 {
		pipe = s.rdb.Pipeline()
		queued := make([]any, len(recs))
		// One script call applies the agreements of a partner, or of every
		// partner where one call may touch several partners' keys: a call
		// costs Redis about as much as applying two or three events, and
		// in a batch spread over many partners most have one event.
		groups := map[string][]int{}
		for _, i := range here {
			if a, ok := recs[i].(*agreementRecord); ok {
				g := ""
				if s.slotted {
					g = a.part
				}
				groups[g] = append(groups[g], i)
				continue
			}
			queued[i] = recs[i].(*tradeRecord).queueApply(ctx, pipe)
		}
		var grouped []*redis.Cmd
		for _, g := range groups {
			for len(g) > 0 {
				n := min(len(g), maxScriptBatch)
				grouped = append(grouped, s.queueAgreementGroup(ctx, pipe, recs, g[:n], queued))
				g = g[n:]
			}
		}
		s.queueFreshIndexEntries(ctx, pipe, recs, queued)
		_, _ = pipe.Exec(ctx)
		for _, cmd := range grouped {
			if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
				// Its events take the ordinary path this time; the next
				// batches find the script.
				// A failure to load shows in the ordinary path's own calls.
				_ = applyAgreementsScript.Load(ctx, s.rdb).Err()
				break
			}
		}
		for _, i := range here {
			res, ok, err := recs[i].finishApply(ctx, queued[i])
			switch {
			case err != nil:
				fail(i, err)
			case !ok:
				ordinary = append(ordinary, i)
			default:
				if err := s.step("applied"); err != nil {
					fail(i, err)
					continue
				}
				results[i] = res
				applied = append(applied, i)
			}
		}
	}

	// Round trip 3: the global index syncs still needed.
	var syncs [][]redis.Cmder
	pipe = s.rdb.Pipeline()
	for _, i := range applied {
		var cmds []redis.Cmder
		if needsSync(recs[i], results[i]) {
			cmds = recs[i].queueSync(ctx, pipe, results[i])
		}
		syncs = append(syncs, cmds)
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx)
	}
	for n, i := range applied {
		if err := firstErr(syncs[n]); err != nil {
			fail(i, fmt.Errorf("sync global indexes of %q: %w", recs[i].id(), err))
			continue
		}
		outs[i] = results[i].outcome
	}

	// The per-event protocol: records that move from another partner,
	// records whose script answered retry (or was not loaded), then the
	// later events of records already in the batch.
	for _, i := range moved {
		outs[i], errs[i] = s.finishOne(ctx, recs[i], locs[i])
	}
	for _, i := range ordinary {
		outs[i], errs[i] = s.finishOne(ctx, recs[i], recs[i].partner())
	}
	for _, i := range later {
		out, err := s.applyRecord(ctx, recs[i])
		if err != nil {
			err = recs[i].wrap(err)
		}
		outs[i], errs[i] = out, err
	}
	return outs, errs
}

func (s *Store) finishOne(ctx context.Context, r batchRecord, loc string) (Outcome, error) {
	out, err := s.applyLocated(ctx, r, loc)
	if err != nil {
		return 0, r.wrap(err)
	}
	return out, nil
}

func firstErr(cmds []redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// maxScriptBatch is the most events one applyAgreementsScript call
// applies: Lua's unpack takes a few thousand values, and a longer call
// would hold Redis for longer than a client waits.
const maxScriptBatch = 256

// queueAgreementGroup queues one applyAgreementsScript call for the
// agreement records recs[g...], each located under its event's partner,
// and puts each record's share of the answer in queued (with the global
// index entries of the fresh ones, as queueSpeculative does).
func (s *Store) queueAgreementGroup(ctx context.Context, pipe redis.Pipeliner, recs []batchRecord, g []int, queued []any) *redis.Cmd {
	rs := make([]*agreementRecord, len(g))
	stored := make([]string, len(g))
	for n, i := range g {
		rs[n] = recs[i].(*agreementRecord)
		stored[n], _ = rs[n].take()
	}
	keys, args := s.agreementsCall(rs, stored, make([]int64, len(g)))
	cmd := applyAgreementsScript.EvalSha(ctx, pipe, keys, args...)
	for n, i := range g {
		r := recs[i].(*agreementRecord)
		reply := scriptReply{cmd: cmd, n: n}
		if r.fresh {
			queued[i] = speculation{script: reply} // index: queueFreshIndexEntries
		} else {
			queued[i] = reply
		}
	}
	return cmd
}

// queueFreshIndexEntries queues the global index entries of every fresh
// record queueAgreementGroup speculated on, as one ZADD per index and one
// SADD of the partners, and hands the commands to each speculation: if
// any fails, every one of them undoes its entries and takes the ordinary
// path, as a failed entry of its own would make it do.
func (s *Store) queueFreshIndexEntries(ctx context.Context, pipe redis.Pipeliner, recs []batchRecord, queued []any) {
	k := s.keys
	var all []redis.Z
	byDomain := map[string][]redis.Z{}
	var partners []any
	var fresh []int
	for i, q := range queued {
		sp, ok := q.(speculation)
		if !ok || sp.index != nil {
			continue
		}
		r := recs[i].(*agreementRecord)
		z := redis.Z{Score: float64(r.score), Member: r.agrID}
		all = append(all, z)
		for _, d := range strings.Split(r.domains, ",") {
			if d != "" {
				byDomain[d] = append(byDomain[d], z)
			}
		}
		if !slices.Contains(partners, any(r.part)) {
			partners = append(partners, r.part)
		}
		fresh = append(fresh, i)
	}
	if len(fresh) == 0 {
		return
	}
	index := []redis.Cmder{pipe.ZAdd(ctx, k.AllAgreements(), all...)}
	for d, zs := range byDomain {
		index = append(index, pipe.ZAdd(ctx, k.AllAgreementsByDomain(d), zs...))
	}
	index = append(index, pipe.SAdd(ctx, k.Partners(), partners...))
	for _, i := range fresh {
		sp := queued[i].(speculation)
		sp.index = index
		queued[i] = sp
	}
}

// scriptReply is one event's answer of an apply script: the reply of a
// call of its own (n < 0) or element n of a batch call's reply.
type scriptReply struct {
	cmd *redis.Cmd
	n   int
}

func (s scriptReply) result() (any, error) {
	v, err := s.cmd.Result()
	if err != nil || s.n < 0 {
		return v, err
	}
	arr, ok := v.([]any)
	if !ok || s.n >= len(arr) {
		return nil, fmt.Errorf("unexpected batch script reply %v", v)
	}
	return arr[s.n], nil
}

func (r *agreementRecord) finishApply(ctx context.Context, queued any) (applyResult, bool, error) {
	if sp, ok := queued.(speculation); ok {
		return r.finishSpeculative(ctx, sp)
	}
	return finishScript(queued.(scriptReply))
}

// queueApply queues the apply script of a figure located under the
// event's partner; its only global index (the partners set) is written
// after the script answers.
func (r *tradeRecord) queueApply(ctx context.Context, pipe redis.Pipeliner) any {
	keys, args := r.applyCall(0)
	return applyTradeScript.EvalSha(ctx, pipe, keys, args...)
}

func (r *tradeRecord) finishApply(_ context.Context, queued any) (applyResult, bool, error) {
	return finishScript(scriptReply{cmd: queued.(*redis.Cmd), n: -1})
}

// finishScript reads an apply script's answer; not ok when the ordinary
// path must run it again (retry, or the script was not loaded).
func finishScript(reply scriptReply) (applyResult, bool, error) {
	v, err := reply.result()
	if err != nil {
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			return applyResult{}, false, nil // the ordinary path loads it
		}
		return applyResult{}, false, fmt.Errorf("apply script: %w", err)
	}
	res, retry, err := parseApplyResult(v)
	if err != nil || retry {
		return applyResult{}, false, err
	}
	return res, true, nil
}
