package domain

import (
	"slices"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Gazetteer is what roll-ups need of the entities: kinds, parents and bloc
// memberships.
type Gazetteer struct {
	entities map[string]*bilatv1.Entity
}

// NewGazetteer indexes entities by code.
func NewGazetteer(ents []*bilatv1.Entity) *Gazetteer {
	g := &Gazetteer{entities: make(map[string]*bilatv1.Entity, len(ents))}
	for _, e := range ents {
		g.entities[e.GetCode()] = e
	}
	return g
}

// IsBloc reports whether code is a bloc.
func (g *Gazetteer) IsBloc(code string) bool {
	return g.entities[code].GetKind() == bilatv1.EntityKind_ENTITY_KIND_BLOC
}

// Known reports whether the gazetteer has the code.
func (g *Gazetteer) Known(code string) bool { return g.entities[code] != nil }

// dateKey orders partial dates; a missing month or day counts as the first.
func dateKey(d *bilatv1.PartialDate) int64 {
	return int64(d.GetYear())*10000 + int64(max(d.GetMonth(), 1))*100 + int64(max(d.GetDay(), 1))
}

// periodEnd is the last day of a period as a date key.
func periodEnd(p Period) int64 {
	m := int32(12)
	if !p.Annual() {
		m = p.Last
	}
	return int64(p.Year)*10000 + int64(m)*100 + 31
}

// MemberAt reports whether a membership covers the last day of the period:
// a country joining during a year counts for that year, one leaving during
// it does not (EAEU: Armenia and Kyrgyzstan count from 2015, not 2014).
func MemberAt(m *bilatv1.Membership, p Period) bool {
	end := periodEnd(p)
	if m.GetJoined().GetYear() > 0 && dateKey(m.GetJoined()) > end {
		return false
	}
	if m.GetLeft().GetYear() > 0 && dateKey(m.GetLeft()) <= end {
		return false
	}
	return true
}

// Members lists the bloc's members as of the period, sorted.
func (g *Gazetteer) Members(bloc string, p Period) []string {
	var out []string
	for code, e := range g.entities {
		for _, m := range e.GetMemberships() {
			if m.GetBloc() == bloc && MemberAt(m, p) {
				out = append(out, code)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Regions lists every entity inside code (regions, cities: its parent chain
// reaches code), sorted.
func (g *Gazetteer) Regions(code string) []string {
	var out []string
	for c, e := range g.entities {
		seen := 0
		for p := e.GetParent(); p != "" && seen < 16; seen++ {
			if p == code {
				out = append(out, c)
				break
			}
			p = g.entities[p].GetParent()
		}
	}
	slices.Sort(out)
	return out
}

// EverMembers lists every entity that was ever a member of the bloc, sorted.
func (g *Gazetteer) EverMembers(bloc string) []string {
	var out []string
	for code, e := range g.entities {
		for _, m := range e.GetMemberships() {
			if m.GetBloc() == bloc {
				out = append(out, code)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// Ancestors lists the entities enclosing code, nearest first.
func (g *Gazetteer) Ancestors(code string) []string {
	var out []string
	for p := g.entities[code].GetParent(); p != "" && len(out) < 16; p = g.entities[p].GetParent() {
		out = append(out, p)
	}
	return out
}
