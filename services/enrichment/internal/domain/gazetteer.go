package domain

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Gazetteer is an immutable index of entities by code and by normalised
// name. It is safe for concurrent use.
type Gazetteer struct {
	entities []*bilatv1.Entity
	byCode   map[string]*bilatv1.Entity
	// byName: normalised canonical name -> entity; a canonical name wins
	// over another entity's alias ("Grozny" the city, not the republic it
	// also stands for).
	byName map[string]*bilatv1.Entity
	// byAlias: normalised alias -> every entity carrying it, with the
	// alias as that entity spells it.
	byAlias map[string][]aliasOf
}

type aliasOf struct {
	entity *bilatv1.Entity
	alias  string
}

// Match is the outcome of resolving one name.
type Match struct {
	Resolution bilatv1.Resolution
	// Entity is set when Resolution is RESOLVED.
	Entity *bilatv1.Entity
	// MatchedAlias is the alias (as the gazetteer spells it) that matched.
	MatchedAlias string
	// Candidates are the codes of the entities an AMBIGUOUS name matches.
	Candidates []string
}

// NewGazetteer indexes entities. Codes must be present and unique; names
// and aliases that normalise to nothing are ignored.
func NewGazetteer(entities []*bilatv1.Entity) (*Gazetteer, error) {
	g := &Gazetteer{
		byCode:  make(map[string]*bilatv1.Entity, len(entities)),
		byName:  make(map[string]*bilatv1.Entity, len(entities)),
		byAlias: make(map[string][]aliasOf, 4*len(entities)),
	}
	sharedNames := map[string]bool{}
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
		if k := Normalize(e.Name); k != "" {
			if _, dup := g.byName[k]; dup {
				sharedNames[k] = true
			}
			g.byName[k] = e
		}
		seen := map[string]bool{}
		for _, a := range append([]string{e.Name}, e.Aliases...) {
			k := Normalize(a)
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			g.byAlias[k] = append(g.byAlias[k], aliasOf{entity: e, alias: a})
		}
	}
	// Two entities with the same canonical name: neither wins.
	for k := range sharedNames {
		delete(g.byName, k)
	}
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
		if err := protojson.Unmarshal(line, e); err != nil {
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

// Resolve matches a name exactly, after normalisation: a canonical name
// first, then an alias carried by one entity only. An alias carried by
// several entities is AMBIGUOUS; anything else is UNRESOLVED.
func (g *Gazetteer) Resolve(name string) Match {
	k := Normalize(name)
	if k == "" {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}
	}
	if e, ok := g.byName[k]; ok {
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Entity: e, MatchedAlias: e.Name}
	}
	switch hits := g.byAlias[k]; len(hits) {
	case 0:
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}
	case 1:
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Entity: hits[0].entity, MatchedAlias: hits[0].alias}
	default:
		codes := make([]string, len(hits))
		for i, h := range hits {
			codes[i] = h.entity.Code
		}
		slices.Sort(codes)
		return Match{Resolution: bilatv1.Resolution_RESOLUTION_AMBIGUOUS, Candidates: codes}
	}
}

// Ref resolves ref in place. The name as written is kept in every case; a
// ref that carries only a code is resolved by that code. Fields of a
// previous resolution are replaced, so re-enriching is idempotent.
func (g *Gazetteer) Ref(ref *bilatv1.EntityRef) {
	if ref == nil {
		return
	}
	name := ref.Name
	if strings.TrimSpace(name) == "" && ref.Code != "" {
		if e, ok := g.byCode[ref.Code]; ok {
			fill(ref, Match{Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Entity: e})
			return
		}
		// Unknown code: keep it visible as the name rather than drop it.
		name = ref.Code
	}
	*ref = bilatv1.EntityRef{Name: name}
	fill(ref, g.Resolve(name))
}

func fill(ref *bilatv1.EntityRef, m Match) {
	ref.Resolution = m.Resolution
	ref.Code, ref.Kind, ref.CanonicalName, ref.Parent, ref.Country, ref.MatchedAlias = "", 0, "", "", "", ""
	if m.Resolution != bilatv1.Resolution_RESOLUTION_RESOLVED {
		return
	}
	e := m.Entity
	ref.Code, ref.Kind, ref.CanonicalName, ref.Parent, ref.Country, ref.MatchedAlias = e.Code, e.Kind, e.Name, e.Parent, e.Country, m.MatchedAlias
	if ref.Country == "" && e.Kind == bilatv1.EntityKind_ENTITY_KIND_COUNTRY {
		ref.Country = e.Code
	}
}
