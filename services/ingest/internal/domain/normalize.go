package domain

import (
	"strings"
	"unicode"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// NormalizeAgreement rewrites a in place into its canonical form: text
// trimmed, whitespace in names and titles collapsed to single spaces, codes
// upper-cased. It runs before validation and before hashing, so records
// that differ only in such spelling share one content hash.
func NormalizeAgreement(a *bilatv1.Agreement) {
	if a == nil {
		return
	}
	a.Id = strings.TrimSpace(a.Id)
	a.Title = collapse(a.Title)
	a.Subkind = collapse(a.Subkind)
	for _, p := range a.Parties {
		if p == nil {
			continue
		}
		normalizeRef(p.Entity)
		p.Country = upperASCII(strings.TrimSpace(p.Country))
	}
	normalizeRef(a.Partner)
	a.Place = collapse(a.Place)
	normalizeMoney(a.Value)
	normalizeSources(a.Sources)
	a.Note = strings.TrimSpace(a.Note)
	normalizeAttributes(a.Attributes)
}

// NormalizeTradeFigure is NormalizeAgreement for trade figures.
func NormalizeTradeFigure(f *bilatv1.TradeFigure) {
	if f == nil {
		return
	}
	f.Id = strings.TrimSpace(f.Id)
	normalizeRef(f.Reporter)
	normalizeRef(f.Partner)
	normalizeMoney(f.Value)
	f.Approximation = collapse(f.Approximation)
	normalizeSources(f.Sources)
	f.Note = strings.TrimSpace(f.Note)
	normalizeAttributes(f.Attributes)
}

func normalizeRef(r *bilatv1.EntityRef) {
	if r == nil {
		return
	}
	r.Name = collapse(r.Name)
}

func normalizeMoney(m *bilatv1.Money) {
	if m == nil {
		return
	}
	m.Currency = upperASCII(strings.TrimSpace(m.Currency))
}

func normalizeSources(ss []*bilatv1.Source) {
	for _, s := range ss {
		if s == nil {
			continue
		}
		s.Url = strings.TrimSpace(s.Url)
		s.Publisher = collapse(s.Publisher)
		s.Quote = strings.TrimSpace(s.Quote)
		s.Reference = collapse(s.Reference)
	}
}

// normalizeAttributes trims values only: rewriting keys could merge two
// entries into one and lose a value.
func normalizeAttributes(attrs map[string]string) {
	for k, v := range attrs {
		attrs[k] = strings.TrimSpace(v)
	}
}

// collapse trims s and replaces every run of white space (any Unicode
// space, including tabs, newlines and no-break spaces) with one space.
func collapse(s string) string {
	if s == "" || collapsed(s) {
		return s // the usual case: nothing to rewrite, nothing to allocate
	}
	return strings.Join(strings.Fields(s), " ")
}

// collapsed reports whether collapse would return s unchanged: no white
// space at either end, and every run of it a single ' '. It uses
// unicode.IsSpace, as strings.Fields does.
func collapsed(s string) bool {
	prevSpace := true // so that a leading space counts as a run
	for _, r := range s {
		if unicode.IsSpace(r) {
			if r != ' ' || prevSpace {
				return false
			}
			prevSpace = true
			continue
		}
		prevSpace = false
	}
	return !prevSpace
}

// upperASCII upper-cases ASCII letters only; codes are ASCII, and leaving
// other runes alone keeps normalisation idempotent.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
