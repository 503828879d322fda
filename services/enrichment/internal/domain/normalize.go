// Package domain holds the gazetteer and the enrichment rules: pure
// functions over bilat.v1 messages, no I/O.
package domain

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// quotes are dropped rather than turned into spaces, so that "People's" and
// "Peoples", or «Великий камень» and Великий камень, meet.
const quotes = "'\"`´‘’‚‛“”„‟«»‹›′″"

// Normalize is the form names are matched in: Unicode NFKC (composed
// letters, compatibility forms folded), lower case, ё→е (Russian writes both),
// quotes dropped, other punctuation and symbols read as spaces, runs of
// spaces collapsed, ends trimmed.
func Normalize(s string) string {
	// ASCII is already NFKC; skipping the normaliser keeps resolution fast.
	if !isASCII(s) {
		s = norm.NFKC.String(s)
	}
	s = strings.ToLower(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == 'ё':
			r = 'е'
		case strings.ContainsRune(quotes, r):
			continue
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r) || unicode.IsControl(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
