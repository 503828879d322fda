package projection

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

var errCrash = errors.New("simulated crash")

func testStore(rdb redis.UniversalClient) *Store {
	return New(rdb, WithClock(func() time.Time { return time.Unix(1700000000, 0) }))
}

func agreementEvent(ev string, seq uint64, id, partner string, year int32, ds ...bilatv1.Domain) *bilatv1.AgreementRecorded {
	var signed *bilatv1.PartialDate
	if year != 0 {
		signed = &bilatv1.PartialDate{Year: year}
	}
	var p *bilatv1.EntityRef
	if partner != Unresolved {
		p = &bilatv1.EntityRef{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: partner}
	}
	// Status, kind and party levels vary with the version, so the level,
	// status and kind counts move with revisions too.
	var parties []*bilatv1.Party
	for i := range seq % 3 {
		parties = append(parties, &bilatv1.Party{Level: bilatv1.PartyLevel(1 + (seq+i)%3)})
	}
	return &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: ev, Sequence: seq},
		Agreement: &bilatv1.Agreement{Id: id, Title: fmt.Sprintf("%s@%d", id, seq), Partner: p, SignedOn: signed, Domains: ds,
			Status: bilatv1.AgreementStatus(seq % 4), Kind: bilatv1.AgreementKind(seq % 5), Parties: parties},
	}
}

func tradeEvent(ev string, seq uint64, id, partner string, year int32, flow bilatv1.TradeFlow) *bilatv1.TradeFigureRecorded {
	return &bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: ev, Sequence: seq},
		Figure: &bilatv1.TradeFigure{
			Id: id, Partner: &bilatv1.EntityRef{Code: partner}, Reporter: &bilatv1.EntityRef{Code: "BY"},
			Period: &bilatv1.Period{Year: year}, Flow: flow, Note: fmt.Sprintf("%s@%d", id, seq),
		},
	}
}

// snapshot renders every key of the database; drop removes hash fields
// that legitimately differ between equivalent histories.
func snapshot(t *testing.T, rdb *redis.Client, drop ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		var items []string
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "string":
			items = []string{rdb.Get(ctx, k).Val()}
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				if !slices.Contains(drop, f) {
					items = append(items, f+"="+v)
				}
			}
			if len(items) == 0 {
				continue // a tombstone once its revision is dropped
			}
		case "set":
			items = rdb.SMembers(ctx, k).Val()
		case "zset":
			for _, z := range rdb.ZRangeWithScores(ctx, k, 0, -1).Val() {
				items = append(items, fmt.Sprintf("%v@%d", z.Member, int64(z.Score)))
			}
		default:
			t.Fatalf("key %s has type %s", k, typ)
		}
		slices.Sort(items)
		out[k] = strings.Join(items, " ")
	}
	return out
}

func diffSnapshots(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			d = append(d, fmt.Sprintf("%s: %q vs %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: missing vs %q", k, v))
		}
	}
	slices.Sort(d)
	return strings.Join(d, "\n")
}

// TestCrashBetweenStepsConverges stops a partner move after each step, as a
// crash would, and redelivers: the result must equal an uninterrupted run.
func TestCrashBetweenStepsConverges(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	v1 := agreementEvent("e1", 10, "a1", "GE", 2018, bilatv1.Domain_DOMAIN_TRADE)
	v2 := agreementEvent("e2", 20, "a1", "AM", 2019, bilatv1.Domain_DOMAIN_CULTURE)
	t1 := tradeEvent("t1", 11, "f1", "GE", 2018, bilatv1.TradeFlow_TRADE_FLOW_EXPORTS)
	t2 := tradeEvent("t2", 21, "f1", "AM", 2018, bilatv1.TradeFlow_TRADE_FLOW_EXPORTS)

	run := func(crashAt string) map[string]string {
		if err := r.Client.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		s := testStore(r.Client)
		for _, ev := range []any{v1, t1} {
			if err := applyAny(ctx, s, ev); err != nil {
				t.Fatal(err)
			}
		}
		for _, ev := range []any{v2, t2} {
			if crashAt != "" {
				s.afterStep = func(step string) error {
					if step == crashAt {
						return errCrash
					}
					return nil
				}
				if err := applyAny(ctx, s, ev); !errors.Is(err, errCrash) {
					t.Fatalf("crash at %s: err = %v", crashAt, err)
				}
				s.afterStep = nil
			}
			if err := applyAny(ctx, s, ev); err != nil {
				t.Fatal(err)
			}
			if err := applyAny(ctx, s, ev); err != nil { // and once more, as a duplicate
				t.Fatal(err)
			}
		}
		return snapshot(t, r.Client)
	}
	clean := run("")
	if clean[NewKeys("").AgreementLocation("a1")] != "AM" || clean[NewKeys("").TradeLocation("f1")] != "AM" {
		t.Fatalf("clean run did not move the records: %v", clean)
	}
	for _, step := range []string{"removed", "seeded", "located", "applied"} {
		if d := diffSnapshots(clean, run(step)); d != "" {
			t.Errorf("crash after %s does not converge:\n%s", step, d)
		}
	}
}

func applyAny(ctx context.Context, s *Store, ev any) error {
	switch e := ev.(type) {
	case *bilatv1.AgreementRecorded:
		_, err := s.ApplyAgreement(ctx, e)
		return err
	case *bilatv1.TradeFigureRecorded:
		_, err := s.ApplyTradeFigure(ctx, e)
		return err
	case *bilatv1.AgreementRetracted:
		_, err := s.ApplyAgreementRetraction(ctx, e)
		return err
	case *bilatv1.TradeFigureRetracted:
		_, err := s.ApplyTradeRetraction(ctx, e)
		return err
	}
	return fmt.Errorf("unknown event %T", ev)
}

// applyBatchAny applies evs as the statistics consumer applies a batch:
// recorded agreements and figures through ApplyAgreements and
// ApplyTradeFigures (they keep the order of events of one record), a
// retraction one at a time after everything before it.
func applyBatchAny(ctx context.Context, s *Store, evs []any) []error {
	errs := make([]error, len(evs))
	var agrs []*bilatv1.AgreementRecorded
	var figs []*bilatv1.TradeFigureRecorded
	var agrAt, figAt []int
	flush := func() {
		if len(agrs) > 0 {
			_, es := s.ApplyAgreements(ctx, agrs)
			for n, i := range agrAt {
				errs[i] = es[n]
			}
		}
		if len(figs) > 0 {
			_, es := s.ApplyTradeFigures(ctx, figs)
			for n, i := range figAt {
				errs[i] = es[n]
			}
		}
		agrs, figs, agrAt, figAt = nil, nil, nil, nil
	}
	for i, ev := range evs {
		switch e := ev.(type) {
		case *bilatv1.AgreementRecorded:
			agrs, agrAt = append(agrs, e), append(agrAt, i)
		case *bilatv1.TradeFigureRecorded:
			figs, figAt = append(figs, e), append(figAt, i)
		default:
			flush()
			errs[i] = applyAny(ctx, s, ev)
		}
	}
	flush()
	return errs
}

// TestBatchesEqualOneAtATime delivers random histories (partner moves,
// retractions, redeliveries, shuffled) once one event at a time and twice
// in random batches, in the same order: with one apply script call for
// the whole batch (as on a single Redis) and with one per partner (as on
// Redis Cluster). Every key, and the checksum, must be identical.
func TestBatchesEqualOneAtATime(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	for h := range 300 {
		rng := rand.New(rand.NewPCG(uint64(h), 0xba7c))
		hist := randomHistory(rng)
		var queue []any
		for _, e := range hist.events {
			for range 1 + rng.IntN(3) {
				queue = append(queue, e)
			}
		}
		rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
		var sizes []int
		for left := len(queue); left > 0; {
			n := min(left, 1+rng.IntN(12))
			sizes = append(sizes, n)
			left -= n
		}
		run := func(batched, slotted bool) (map[string]string, string) {
			if err := r.Client.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			s := testStore(r.Client)
			s.slotted = slotted
			if !batched {
				for _, e := range queue {
					if err := applyAny(ctx, s, e); err != nil {
						t.Fatalf("history %d: %v", h, err)
					}
				}
			} else {
				rest := queue
				for _, n := range sizes {
					for _, err := range applyBatchAny(ctx, s, rest[:n]) {
						if err != nil {
							t.Fatalf("history %d: batch: %v", h, err)
						}
					}
					rest = rest[n:]
				}
			}
			sum, _, err := s.Checksum(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return snapshot(t, r.Client), sum
		}
		one, oneSum := run(false, false)
		for _, slotted := range []bool{false, true} {
			many, manySum := run(true, slotted)
			if d := diffSnapshots(one, many); d != "" {
				t.Fatalf("history %d: batches (slotted %v) differ from one at a time (one vs batches):\n%s", h, slotted, d)
			}
			if oneSum != manySum {
				t.Fatalf("history %d: checksum %s one at a time, %s in batches (slotted %v)", h, oneSum, manySum, slotted)
			}
		}
	}
}

// TestRandomHistoriesMatchModel delivers random histories (several versions
// of a few records, partner moves, shuffled order, duplicates, crashes
// between steps followed by redelivery) and compares the projections with
// a model that keeps the highest-sequence version of each record.
func TestRandomHistoriesMatchModel(t *testing.T) {
	testRandomHistories(t, 2000, false)
}

// TestRandomBatchesMatchModel is TestRandomHistoriesMatchModel with the
// deliveries applied in random batches (ApplyAgreements,
// ApplyTradeFigures), crashes failing whichever events of a batch reach
// the step.
func TestRandomBatchesMatchModel(t *testing.T) {
	testRandomHistories(t, 600, true)
}

func testRandomHistories(t *testing.T, histories int, batched bool) {
	r := testenv.Redis(t)
	ctx := context.Background()
	steps := []string{"removed", "seeded", "located", "applied"}

	for h := range histories {
		rng := rand.New(rand.NewPCG(uint64(h), 0x5eed))
		if err := r.Client.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		s := testStore(r.Client)
		hist := randomHistory(rng)
		events, latestA, latestT, retractedSeq, histModel := hist.events, hist.latestA, hist.latestT, hist.retractedSeq, hist.histModel

		// Every event delivered one to three times, in random order.
		var queue []any
		for _, e := range events {
			for range 1 + rng.IntN(3) {
				queue = append(queue, e)
			}
		}
		rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
		for len(queue) > 0 {
			n := 1
			if batched {
				n = min(len(queue), 1+rng.IntN(8))
			}
			batch := slices.Clone(queue[:n])
			queue = queue[n:]
			crash := ""
			if rng.IntN(6) == 0 {
				crash = steps[rng.IntN(len(steps))]
			}
			s.afterStep = func(step string) error {
				if step == crash && (!batched || rng.IntN(2) == 0) {
					return errCrash
				}
				return nil
			}
			var errs []error
			if batched {
				errs = applyBatchAny(ctx, s, batch)
			} else {
				errs = []error{applyAny(ctx, s, batch[0])}
			}
			for i, err := range errs {
				switch {
				case errors.Is(err, errCrash):
					at := rng.IntN(len(queue) + 1) // not acked: redelivered later
					queue = slices.Insert(queue, at, batch[i])
				case err != nil:
					t.Fatalf("history %d: %v", h, err)
				}
			}
		}
		s.afterStep = nil
		// A retraction newer than every version takes the record out; its
		// location then names wherever the tombstone landed (order-dependent).
		got := projectionSnapshot(t, r.Client)
		for id, want := range histModel {
			delete(got, s.keys.AgreementHistory(id))
			slices.Sort(want)
			revs, err := s.AgreementRevisions(ctx, id)
			if err != nil {
				t.Fatalf("history %d: revisions of %s: %v", h, id, err)
			}
			var have []string
			for _, r := range revs {
				if r.GetRetracted() {
					have = append(have, fmt.Sprintf("%06d %s retracted %s", r.Sequence, r.GetEventId(), r.GetRetractionReason()))
				} else {
					have = append(have, fmt.Sprintf("%06d %s %s", r.Sequence, r.GetEventId(), r.GetAgreement().GetTitle()))
				}
			}
			if !slices.Equal(have, want) {
				t.Fatalf("history %d: revisions of %s = %q, want %q", h, id, have, want)
			}
		}
		for id, rs := range retractedSeq {
			if e := latestA[id]; e != nil && e.Envelope.Sequence < rs {
				delete(latestA, id)
			}
			if e := latestT[id]; e != nil && e.Envelope.Sequence < rs {
				delete(latestT, id)
			}
			if latestA[id] == nil && latestT[id] == nil {
				delete(got, s.keys.AgreementLocation(id))
				delete(got, s.keys.TradeLocation(id))
				if _, err := s.GetAgreement(ctx, id); !errors.Is(err, ErrNotFound) {
					t.Fatalf("history %d: retracted %s: GetAgreement err = %v", h, id, err)
				}
			}
		}
		want := modelSnapshot(s.keys, latestA, latestT)
		// Partners lists every partner that ever held a record, which
		// depends on the order; it must include the ones holding one now.
		for _, p := range strings.Fields(want[s.keys.Partners()]) {
			if !strings.Contains(" "+got[s.keys.Partners()]+" ", " "+p+" ") {
				t.Fatalf("history %d: partners %q lacks %s", h, got[s.keys.Partners()], p)
			}
		}
		delete(got, s.keys.Partners())
		delete(want, s.keys.Partners())
		if d := diffSnapshots(want, got); d != "" {
			t.Fatalf("history %d (seed %d) differs from the model (model vs redis):\n%s", h, h, d)
		}
		for id, e := range latestA {
			a, err := s.GetAgreement(ctx, id)
			if err != nil || a.GetTitle() != e.Agreement.Title {
				t.Fatalf("history %d: GetAgreement(%s) = %v, %v; want %s", h, id, a, err, e.Agreement.Title)
			}
		}
	}
}

// history is a random set of events and what the model expects of it.
type history struct {
	events       []any
	latestA      map[string]*bilatv1.AgreementRecorded
	latestT      map[string]*bilatv1.TradeFigureRecorded
	retractedSeq map[string]uint64
	// histModel is the revision history of each agreement, by sequence.
	histModel map[string][]string
}

// randomHistory makes several versions of a few records (moving between
// partners), and retractions of some of them and of ids never recorded.
func randomHistory(rng *rand.Rand) history {
	partners := []string{"GE", "AM", Unresolved}
	domains := []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_CULTURE,
		bilatv1.Domain_DOMAIN_HEALTH, bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY}
	years := []int32{0, 2015, 2016, 2017}
	flows := []bilatv1.TradeFlow{bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, bilatv1.TradeFlow_TRADE_FLOW_EXPORTS}
	// Versions with distinct sequences, assigned in random order; some
	// records (and some ids never recorded) also get a retraction.
	var events []any
	nAgr, nFig := 1+rng.IntN(4), rng.IntN(3)
	total := 0
	counts := make([]int, nAgr+nFig+2)
	retract := make([]bool, len(counts))
	for i := range counts {
		if i < nAgr+nFig {
			counts[i] = 1 + rng.IntN(4)
		}
		retract[i] = rng.IntN(3) == 0
		if retract[i] {
			total++
		}
		total += counts[i]
	}
	seqs := rng.Perm(total)
	latestA := map[string]*bilatv1.AgreementRecorded{}
	latestT := map[string]*bilatv1.TradeFigureRecorded{}
	retractedSeq := map[string]uint64{}
	// The revision history keeps every agreement event, by sequence.
	histModel := map[string][]string{}
	n := 0
	for i, c := range counts {
		if retract[i] {
			seq := uint64(seqs[n] + 1)
			ev := fmt.Sprintf("ev%d", n)
			n++
			env := &bilatv1.Envelope{EventId: ev, Sequence: seq}
			switch {
			case i < nAgr || i == nAgr+nFig:
				id := fmt.Sprintf("a%d", i)
				events = append(events, &bilatv1.AgreementRetracted{Envelope: env, AgreementId: id, Reason: "r" + ev})
				retractedSeq[id] = seq
				histModel[id] = append(histModel[id], fmt.Sprintf("%06d %s retracted r%s", seq, ev, ev))
			default:
				id := fmt.Sprintf("f%d", i)
				events = append(events, &bilatv1.TradeFigureRetracted{Envelope: env, FigureId: id})
				retractedSeq[id] = seq
			}
		}
		for range c {
			seq := uint64(seqs[n] + 1)
			ev := fmt.Sprintf("ev%d", n)
			n++
			p := partners[rng.IntN(len(partners))]
			y := years[rng.IntN(len(years))]
			if i < nAgr {
				var ds []bilatv1.Domain
				for range rng.IntN(3) {
					ds = append(ds, domains[rng.IntN(len(domains))])
				}
				e := agreementEvent(ev, seq, fmt.Sprintf("a%d", i), p, y, ds...)
				events = append(events, e)
				histModel[e.Agreement.Id] = append(histModel[e.Agreement.Id], fmt.Sprintf("%06d %s %s", seq, ev, e.Agreement.Title))
				if cur := latestA[e.Agreement.Id]; cur == nil || cur.Envelope.Sequence < seq {
					latestA[e.Agreement.Id] = e
				}
			} else {
				e := tradeEvent(ev, seq, fmt.Sprintf("f%d", i), p, max(y, 2014), flows[rng.IntN(len(flows))])
				events = append(events, e)
				if cur := latestT[e.Figure.Id]; cur == nil || cur.Envelope.Sequence < seq {
					latestT[e.Figure.Id] = e
				}
			}
		}
	}
	return history{events: events, latestA: latestA, latestT: latestT, retractedSeq: retractedSeq, histModel: histModel}
}

// projectionSnapshot is the snapshot without what the model does not
// predict: version metadata, document bytes and the applied markers.
func projectionSnapshot(t *testing.T, rdb *redis.Client) map[string]string {
	snap := snapshot(t, rdb, fieldData, fieldEvent, fieldSeq, fieldRev, fieldUpdated, fieldScore, fieldYear, fieldDomains, fieldSeries)
	for k := range snap {
		if strings.HasSuffix(k, ":applied") || strings.Contains(k, ":agr:doc:") || strings.Contains(k, ":trade:fig:") {
			delete(snap, k)
		}
		if strings.HasSuffix(k, ":trade:cur") { // which figures are current; their values hold bytes and times
			ids := rdb.HKeys(context.Background(), k).Val()
			slices.Sort(ids)
			snap[k] = strings.Join(ids, " ")
		}
	}
	return snap
}

// modelSnapshot computes, independently of the scripts, the keys the latest
// versions must have produced.
func modelSnapshot(k Keys, agrs map[string]*bilatv1.AgreementRecorded, figs map[string]*bilatv1.TradeFigureRecorded) map[string]string {
	sets := map[string][]string{}
	add := func(key, item string) { sets[key] = append(sets[key], item) }
	counts := map[string]map[string]int{}
	partners := map[string]bool{}
	for id, e := range agrs {
		a := e.Agreement
		p := PartnerCode(a.Partner)
		partners[p] = true
		y := a.GetSignedOn().GetYear()
		score := fmt.Sprintf("%s@%d", id, int64(y)*10000)
		if counts[p] == nil {
			counts[p] = map[string]int{}
		}
		counts[p]["total"]++
		counts[p]["all|"+strconv.Itoa(int(y))]++
		add(k.AgreementsByDate(p), score)
		add(k.AllAgreements(), score)
		add(k.AgreementLocation(id), p)
		seen := map[bilatv1.Domain]bool{}
		for _, d := range a.Domains {
			if seen[d] {
				continue
			}
			seen[d] = true
			counts[p][DomainName(d)+"|"+strconv.Itoa(int(y))]++
			add(k.AgreementsByDomain(p, DomainName(d)), score)
			add(k.AllAgreementsByDomain(DomainName(d)), score)
		}
		if len(seen) == 0 {
			counts[p]["none|"+strconv.Itoa(int(y))]++
		}
		levels := map[string]bool{}
		for _, party := range a.Parties {
			levels[strings.ToLower(strings.TrimPrefix(party.Level.String(), "PARTY_LEVEL_"))] = true
		}
		if len(levels) == 0 {
			levels["unspecified"] = true
		}
		for l := range levels {
			counts[p]["lvl|"+l+"|"+strconv.Itoa(int(y))]++
		}
		counts[p]["st|"+strings.ToLower(strings.TrimPrefix(a.Status.String(), "AGREEMENT_STATUS_"))+"|"+strconv.Itoa(int(y))]++
		counts[p]["kind|"+strings.ToLower(strings.TrimPrefix(a.Kind.String(), "AGREEMENT_KIND_"))+"|"+strconv.Itoa(int(y))]++
	}
	for p, c := range counts {
		for f, n := range c {
			add(k.AgreementCounts(p), fmt.Sprintf("%s=%d", f, n))
		}
	}
	for id, e := range figs {
		f := e.Figure
		p := PartnerCode(f.Partner)
		partners[p] = true
		series := SeriesKey("BY", f.Period, f.Flow, f.Scope)
		add(k.TradeFigures(p, f.Flow), fmt.Sprintf("%s|%s@%d", series, id, int64(f.Period.Year)*10000))
		add(k.TradeCurrent(p), id)
		add(k.TradeLocation(id), p)
	}
	for p := range partners {
		add(k.Partners(), p)
	}
	out := map[string]string{}
	for key, items := range sets {
		slices.Sort(items)
		out[key] = strings.Join(items, " ")
	}
	return out
}
