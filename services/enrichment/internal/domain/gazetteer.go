package domain

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Confidence of each way a name can match; fuzzy matches lose more per
// edit. The values order the methods, they are not probabilities.
const (
	ConfExact    = 1.0  // the name normalises to an alias
	ConfTranslit = 0.97 // equal after transliteration and variant folding
	ConfStripped = 0.9  // equal after generic words were stripped
	ConfFuzzy    = 0.86 // minus FuzzyPenalty per edit
	FuzzyPenalty = 0.07
	// KindBonus is added when the entity's kind is the one the generic
	// words ask for; KindPenalty is subtracted when it is another place
	// kind, enough to leave "Khabarovsk city" unresolved (with the region
	// as a candidate) rather than resolve it to the region.
	KindBonus   = 0.06
	KindPenalty = 0.25
	// HintBonus is added when the matched alias carried the same generic
	// words as the name (an authority for "Government of …").
	HintBonus = 0.03
	// AmbiguityMargin: the best two different entities closer than this
	// make the name AMBIGUOUS.
	AmbiguityMargin = 0.03
	// MinConfidence is the least a match needs to resolve.
	MinConfidence = 0.7
)

// Match methods, as reported by ResolveEntity.
const (
	MethodExact    = "exact"
	MethodTranslit = "translit"
	MethodStripped = "stripped"
	MethodFuzzy    = "fuzzy"
	MethodOperator = "operator"
	MethodCode     = "code"
)

// Gazetteer is an index of entities by code and by name. The entities and
// their index are immutable; operator aliases (AddAlias) are swapped in
// atomically, so the gazetteer is safe for concurrent use.
type Gazetteer struct {
	entities []*bilatv1.Entity
	byCode   map[string]*bilatv1.Entity
	children map[string][]*bilatv1.Entity
	members  map[string][]*bilatv1.Entity
	// exact: Key(alias) -> every entity carrying an alias with that key.
	exact map[string][]hit
	// stripped: Strip(Key(alias)) -> entities, with the alias's own hint.
	stripped map[string][]hit
	// fuzzy candidates: every stripped key, and a trigram index over them.
	strippedKeys []string
	trigrams     map[string][]int32
	// search: every alias key, sorted, for prefix queries.
	sorted []sortedAlias
	// operator aliases: Key(alias) -> hit; replaced as a whole.
	operator atomic.Pointer[map[string]hit]
}

type hit struct {
	entity *bilatv1.Entity
	alias  string // as the gazetteer spells it
	norm   string // Normalize(alias)
	hint   Hint
	canon  bool // the alias is the entity's canonical name
}

type sortedAlias struct {
	key string
	hit hit
}

// Candidate is one entity a name might denote, with its score.
type Candidate struct {
	Entity *bilatv1.Entity
	Alias  string
	Score  float64
}

// Match is the outcome of resolving one name.
type Match struct {
	Resolution bilatv1.Resolution
	// Entity is set when Resolution is RESOLVED.
	Entity *bilatv1.Entity
	// MatchedAlias is the alias (as the gazetteer spells it) that matched.
	MatchedAlias string
	// Confidence of the resolution, 0..1 (0 unless RESOLVED).
	Confidence float64
	// Method says how the name matched (MethodExact, ...).
	Method string
	// Candidates are the other entities the name might denote, best first:
	// the competitors of an AMBIGUOUS name, the runners-up otherwise.
	Candidates []Candidate
	// Hint is what the generic words of the name asked for.
	Hint Hint
}

// CandidateCodes lists the candidates' codes in order.
func (m Match) CandidateCodes() []string {
	out := make([]string, len(m.Candidates))
	for i, c := range m.Candidates {
		out[i] = c.Entity.GetCode()
	}
	return out
}

// NewGazetteer indexes entities. Codes must be present and unique; names
// and aliases that normalise to nothing are ignored.
func NewGazetteer(entities []*bilatv1.Entity) (*Gazetteer, error) {
	g := &Gazetteer{
		byCode:   make(map[string]*bilatv1.Entity, len(entities)),
		children: map[string][]*bilatv1.Entity{},
		members:  map[string][]*bilatv1.Entity{},
		exact:    make(map[string][]hit, 4*len(entities)),
		stripped: make(map[string][]hit, 4*len(entities)),
		trigrams: map[string][]int32{},
	}
	empty := map[string]hit{}
	g.operator.Store(&empty)
	for i, e := range entities {
		if e.GetCode() == "" {
			return nil, fmt.Errorf("entity %d (%q): empty code", i+1, e.GetName())
		}
		if prev, dup := g.byCode[e.Code]; dup {
			return nil, fmt.Errorf("code %q used by %q and %q", e.Code, prev.GetName(), e.GetName())
		}
		e = proto.CloneOf(e)
		g.byCode[e.Code] = e
		g.entities = append(g.entities, e)
	}
	for _, e := range g.entities {
		if e.Parent != "" {
			g.children[e.Parent] = append(g.children[e.Parent], e)
		}
		for _, m := range e.Memberships {
			g.members[m.GetBloc()] = append(g.members[m.GetBloc()], e)
		}
		seenKey, seenStrip, seenNorm := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for j, a := range append([]string{e.Name}, e.Aliases...) {
			n := Normalize(a)
			if n == "" {
				continue
			}
			k := foldLatin(translit(n))
			s, h := Strip(k)
			ht := hit{entity: e, alias: a, norm: n, hint: h, canon: j == 0}
			// Every spelling is kept (Чечня and Chechnya share a key) so the
			// alias reported is the one written; exactMatch folds them.
			if !seenNorm[n] {
				seenNorm[n] = true
				g.exact[k] = append(g.exact[k], ht)
			}
			if !seenKey[k] {
				seenKey[k] = true
				g.sorted = append(g.sorted, sortedAlias{key: k, hit: ht})
			}
			if s != "" && !seenStrip[s] {
				seenStrip[s] = true
				if _, known := g.stripped[s]; !known {
					id := int32(len(g.strippedKeys))
					g.strippedKeys = append(g.strippedKeys, s)
					for _, t := range trigramsOf(s) {
						g.trigrams[t] = append(g.trigrams[t], id)
					}
				}
				g.stripped[s] = append(g.stripped[s], ht)
			}
		}
	}
	slices.SortFunc(g.sorted, func(a, b sortedAlias) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.hit.entity.Code, b.hit.entity.Code))
	})
	return g, nil
}

// ParseEntities reads NDJSON, one protojson bilat.v1.Entity per line (the
// format of data/gazetteer/entities.ndjson).
func ParseEntities(data []byte) ([]*bilatv1.Entity, error) {
	var out []*bilatv1.Entity
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		e := &bilatv1.Entity{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(line, e); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read entities: %w", err)
	}
	return out, nil
}

// Len is the number of entities.
func (g *Gazetteer) Len() int { return len(g.entities) }

// Entity returns the entity with the code. The result must not be modified.
func (g *Gazetteer) Entity(code string) (*bilatv1.Entity, bool) {
	e, ok := g.byCode[code]
	return e, ok
}

// Children are the entities whose parent is code.
func (g *Gazetteer) Children(code string) []*bilatv1.Entity { return g.children[code] }

// Members are the entities with a membership in the bloc code.
func (g *Gazetteer) Members(code string) []*bilatv1.Entity { return g.members[code] }

// SetOperatorAliases replaces the operator aliases (normalised alias key ->
// entity code, as kept in the BILAT_ALIASES bucket). Unknown codes are
// skipped and returned, so a bad entry cannot stop enrichment.
func (g *Gazetteer) SetOperatorAliases(aliases map[string]string) (unknown []string) {
	m := make(map[string]hit, len(aliases))
	for alias, code := range aliases {
		e, ok := g.byCode[code]
		n := Normalize(alias)
		if !ok || n == "" {
			unknown = append(unknown, alias)
			continue
		}
		m[foldLatin(translit(n))] = hit{entity: e, alias: alias, norm: n, hint: 0}
	}
	g.operator.Store(&m)
	slices.Sort(unknown)
	return unknown
}

// Resolve matches a name: an operator alias, then an exact alias (a
// canonical name wins over other entities' aliases), then equality after
// transliteration, then after stripping generic words (whose hint prefers
// the entity kind they ask for), then a small misspelling. Two different
// entities closer than AmbiguityMargin make the name AMBIGUOUS.
func (g *Gazetteer) Resolve(name string) Match {
	n := Normalize(name)
	if n == "" {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}
	}
	k := foldLatin(translit(n))
	if h, ok := (*g.operator.Load())[k]; ok {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Entity: h.entity, MatchedAlias: h.alias,
			Confidence: ConfExact, Method: MethodOperator}
	}
	if hits := g.exact[k]; len(hits) > 0 {
		return exactMatch(n, hits)
	}
	s, hint := Strip(k)
	if s == "" {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED, Hint: hint}
	}
	var cands []Candidate
	if hits := g.stripped[s]; len(hits) > 0 {
		for _, h := range hits {
			cands = addCandidate(cands, h, ConfStripped+adjust(h, hint))
		}
		return decide(cands, MethodStripped, hint)
	}
	cands = g.fuzzy(s, maxEdits(len(k)), hint, cands)
	return decide(cands, MethodFuzzy, hint)
}

func exactMatch(n string, all []hit) Match {
	// One hit per entity: the spelling as written if the entity has it,
	// canonical if any of its spellings is its canonical name.
	hits := make([]hit, 0, len(all))
	for _, h := range all {
		i := slices.IndexFunc(hits, func(x hit) bool { return x.entity == h.entity })
		if i < 0 {
			hits = append(hits, h)
			continue
		}
		canon := hits[i].canon || h.canon
		if h.norm == n && hits[i].norm != n {
			hits[i] = h
		}
		hits[i].canon = canon
	}
	pick := func(h hit) Match {
		c := ConfExact
		m := MethodExact
		if h.norm != n {
			c, m = ConfTranslit, MethodTranslit
		}
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Entity: h.entity, MatchedAlias: h.alias, Confidence: c, Method: m}
	}
	if len(hits) == 1 {
		return pick(hits[0])
	}
	// A name equal to one entity's canonical name resolves to it even when
	// it is also another entity's alias ("Grozny" the city).
	var canon []hit
	for _, h := range hits {
		if h.canon {
			canon = append(canon, h)
		}
	}
	if len(canon) == 1 {
		m := pick(canon[0])
		for _, h := range hits {
			if h.entity != canon[0].entity {
				m.Candidates = append(m.Candidates, Candidate{Entity: h.entity, Alias: h.alias, Score: m.Confidence - AmbiguityMargin})
			}
		}
		return m
	}
	// Among equals, an entity the sources know (side set) and then a
	// country beat the rest: a full ISO gazetteer has "Georgia" the country
	// and the US state, and the sources mean the country.
	if best, ok := uniqueBest(hits); ok {
		m := pick(best)
		m.Confidence -= AmbiguityMargin
		for _, h := range hits {
			if h.entity != best.entity {
				m.Candidates = append(m.Candidates, Candidate{Entity: h.entity, Alias: h.alias, Score: m.Confidence - AmbiguityMargin})
			}
		}
		return m
	}
	m := Match{Resolution: bilatv1.Resolution_RESOLUTION_AMBIGUOUS, Method: MethodExact}
	for _, h := range hits {
		m.Candidates = append(m.Candidates, Candidate{Entity: h.entity, Alias: h.alias, Score: ConfExact})
	}
	slices.SortFunc(m.Candidates, func(a, b Candidate) int { return cmp.Compare(a.Entity.Code, b.Entity.Code) })
	return m
}

func prior(e *bilatv1.Entity) int {
	p := 0
	if e.GetSide() != "" {
		p += 2
	}
	if e.GetKind() == bilatv1.EntityKind_ENTITY_KIND_COUNTRY {
		p++
	}
	return p
}

// uniqueBest is the hit with the highest prior, if only one has it.
func uniqueBest(hits []hit) (hit, bool) {
	best, n := -1, 0
	var b hit
	for _, h := range hits {
		switch p := prior(h.entity); {
		case p > best:
			best, n, b = p, 1, h
		case p == best:
			n++
		}
	}
	return b, n == 1
}

// adjust scores a loose match by the generic words. The place kind they
// ask for wins (the region for "Mogilev oblast") unless they also name an
// authority ("Правительство Ставропольского края" is the government of
// the krai, when the gazetteer has it); another place kind loses, and so
// does an alias whose own place words contradict them (the city executive
// committee for a regional one). An alias with the same generic words wins
// a little; a plain name prefers an alias without generic words
// ("Mogilev" the city, not "Mogilev Region").
func adjust(h hit, q Hint) float64 {
	d := 0.0
	const place = HintRegion | HintCity
	want := q & place
	if want == place {
		want = HintRegion // "regional city committee": the wider place
	}
	switch kind := h.entity.GetKind(); {
	case want == 0:
	case kind == bilatv1.EntityKind_ENTITY_KIND_REGION && want == HintRegion,
		kind == bilatv1.EntityKind_ENTITY_KIND_CITY && want == HintCity:
		if q&HintAuthority == 0 {
			d += KindBonus
		}
	case kind == bilatv1.EntityKind_ENTITY_KIND_REGION || kind == bilatv1.EntityKind_ENTITY_KIND_CITY:
		d -= KindPenalty
	case h.hint&place != 0 && h.hint&want == 0:
		d -= KindPenalty
	}
	switch {
	case q != 0 && h.hint == q:
		d += HintBonus
	case q == 0 && h.hint != 0:
		d -= HintBonus
	}
	return d
}

// addCandidate keeps the best score per entity.
func addCandidate(cs []Candidate, h hit, score float64) []Candidate {
	for i := range cs {
		if cs[i].Entity == h.entity {
			if score > cs[i].Score {
				cs[i].Score, cs[i].Alias = score, h.alias
			}
			return cs
		}
	}
	return append(cs, Candidate{Entity: h.entity, Alias: h.alias, Score: score})
}

func decide(cands []Candidate, method string, hint Hint) Match {
	if len(cands) == 0 {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED, Hint: hint}
	}
	slices.SortFunc(cands, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Entity.Code, b.Entity.Code))
	})
	if len(cands) > 5 {
		cands = cands[:5]
	}
	best := cands[0]
	if best.Score < MinConfidence {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED, Method: method, Candidates: cands, Hint: hint}
	}
	if len(cands) > 1 && best.Score-cands[1].Score < AmbiguityMargin-1e-9 {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_AMBIGUOUS, Method: method, Candidates: cands, Hint: hint}
	}
	return Match{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Entity: best.Entity, MatchedAlias: best.Alias,
		Confidence: best.Score, Method: method, Candidates: cands[1:], Hint: hint}
}

// maxEdits is how many edits a name of n bytes (in Key form, before
// stripping and stemming) tolerates.
func maxEdits(n int) int {
	switch {
	case n <= 5:
		// Short names are too close to each other: a wrong partner is
		// worse than an unresolved one.
		return 0
	case n <= 9:
		return 1
	case n <= 15:
		return 2
	default:
		return 3
	}
}

// fuzzy finds stripped keys sharing trigrams with s and within maxEdits
// (optimal string alignment distance: a transposition is one edit).
func (g *Gazetteer) fuzzy(s string, limit int, hint Hint, cands []Candidate) []Candidate {
	if limit == 0 {
		return cands
	}
	// A key within limit edits keeps all but at most 4 of the name's
	// trigrams per edit (a transposition touches 4), so only keys sharing
	// enough trigrams are compared.
	tris := trigramsOf(s)
	need := max(1, len(tris)-4*limit)
	shared := map[int32]int{}
	for _, t := range tris {
		for _, id := range g.trigrams[t] {
			shared[id]++
		}
	}
	for id, n := range shared {
		key := g.strippedKeys[id]
		if n < need || abs(len(key)-len(s)) > limit {
			continue
		}
		d := osaDistance(s, key, limit)
		if d > limit {
			continue
		}
		for _, h := range g.stripped[key] {
			cands = addCandidate(cands, h, ConfFuzzy-FuzzyPenalty*float64(d)+adjust(h, hint))
		}
	}
	return cands
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// trigramsOf lists the byte trigrams of " s " (padded so short words and
// word starts count).
func trigramsOf(s string) []string {
	p := " " + s + " "
	if len(p) < 3 {
		return nil
	}
	out := make([]string, 0, len(p)-2)
	for i := 0; i+3 <= len(p); i++ {
		out = append(out, p[i:i+3])
	}
	return out
}

// osaDistance is the optimal string alignment (restricted Damerau-
// Levenshtein) distance over bytes, giving up with limit+1 once every cell
// of a row exceeds limit.
func osaDistance(a, b string, limit int) int {
	if a == b {
		return 0
	}
	la, lb := len(a), len(b)
	prev2 := make([]int, lb+1)
	prev := make([]int, lb+1)
	cur := make([]int, lb+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[lb]
}

// Search answers a prefix or a misspelt name: entities with an alias
// starting with the query (shorter aliases first), then fuzzy matches,
// one hit per entity, best first.
func (g *Gazetteer) Search(query string, limit int, kind bilatv1.EntityKind) []Candidate {
	k := Key(query)
	if k == "" || limit <= 0 {
		return nil
	}
	var out []Candidate
	ok := func(e *bilatv1.Entity) bool { return kind == 0 || e.GetKind() == kind }
	i := sort.Search(len(g.sorted), func(i int) bool { return g.sorted[i].key >= k })
	for ; i < len(g.sorted) && strings.HasPrefix(g.sorted[i].key, k); i++ {
		h := g.sorted[i].hit
		if !ok(h.entity) {
			continue
		}
		// 1 for the whole alias, less the more it is longer than the query.
		score := 0.8 + 0.2*float64(len(k))/float64(len(g.sorted[i].key))
		out = addCandidate(out, h, score)
	}
	if s, hint := Strip(k); s != "" {
		for _, h := range g.stripped[s] {
			if ok(h.entity) {
				out = addCandidate(out, h, ConfStripped+adjust(h, hint))
			}
		}
		var fz []Candidate
		for _, c := range g.fuzzy(s, maxEdits(len(k)), hint, nil) {
			if ok(c.Entity) {
				fz = append(fz, c)
			}
		}
		for _, c := range fz {
			out = addCandidate(out, hit{entity: c.Entity, alias: c.Alias}, c.Score)
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(len(a.Alias), len(b.Alias)), cmp.Compare(a.Entity.Code, b.Entity.Code))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Ref resolves ref in place. The name as written is kept in every case; a
// ref that carries only a code is resolved by that code. Fields of a
// previous resolution are replaced, so re-enriching is idempotent.
func (g *Gazetteer) Ref(ref *bilatv1.EntityRef) Match {
	if ref == nil {
		return Match{}
	}
	name := ref.Name
	if strings.TrimSpace(name) == "" && ref.Code != "" {
		if e, ok := g.byCode[ref.Code]; ok {
			m := Match{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Entity: e, Confidence: ConfExact, Method: MethodCode}
			*ref = bilatv1.EntityRef{}
			fill(ref, m)
			return m
		}
		// Unknown code: keep it visible as the name rather than drop it.
		name = ref.Code
	}
	*ref = bilatv1.EntityRef{Name: name}
	m := g.Resolve(name)
	fill(ref, m)
	return m
}

func fill(ref *bilatv1.EntityRef, m Match) {
	ref.Resolution = m.Resolution
	ref.Code, ref.Kind, ref.CanonicalName, ref.Parent, ref.Country, ref.MatchedAlias = "", 0, "", "", "", ""
	ref.Confidence, ref.Candidates = 0, nil
	for _, c := range m.Candidates {
		ref.Candidates = append(ref.Candidates, &bilatv1.Candidate{Code: c.Entity.GetCode(), Name: c.Entity.GetName(), Kind: c.Entity.GetKind(), Score: round3(c.Score)})
	}
	if m.Resolution != bilatv1.Resolution_RESOLUTION_RESOLVED {
		return
	}
	e := m.Entity
	ref.Code, ref.Kind, ref.CanonicalName, ref.Parent, ref.Country, ref.MatchedAlias = e.Code, e.Kind, e.Name, e.Parent, e.Country, m.MatchedAlias
	ref.Confidence = round3(m.Confidence)
	if ref.Country == "" && e.Kind == bilatv1.EntityKind_ENTITY_KIND_COUNTRY {
		ref.Country = e.Code
	}
}

// round3 keeps scores readable and stable across platforms.
func round3(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}
