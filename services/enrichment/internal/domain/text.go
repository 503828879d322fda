package domain

import "strings"

// words is a text split into normalised words (for explanations) and their
// Key forms (for matching), with function words dropped so that phrases
// match across "of", "and", "и", "в".
type words struct {
	norm []string
	key  []string
}

// stopwords are skipped in both languages; they are in Normalize form
// (in Key form the preposition "о" would also drop "ООО").
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("a an the of and or for in on at to by with between among from into its their " +
		"и или в во на по о об с со для между к от из при за") {
		m[Normalize(w)] = true
	}
	return m
}()

func splitWords(s string) words {
	fields := strings.Fields(Normalize(s))
	// Sized once: growing two slices word by word was half of what
	// classifying an event allocated.
	w := words{norm: make([]string, 0, len(fields)), key: make([]string, 0, len(fields))}
	for _, t := range fields {
		if stopwords[t] {
			continue
		}
		k := foldLatin(translit(t))
		if k == "" {
			continue
		}
		w.norm = append(w.norm, t)
		w.key = append(w.key, k)
	}
	return w
}

// term is a phrase of word prefixes in Key form: "science technology" is
// two words starting with "scien" and "technolog". A prefix ending in "$"
// must match the whole word ("gas$" is not "gastronomy").
type term struct {
	text   string
	parts  []part
	weight float64
}

// part is one word of a term, as matched against a text's keyed words.
type part struct {
	key   string // the Key of the word, or of its beginning
	whole bool   // the word must be key itself, not merely start with it
}

func (p part) matches(k string) bool {
	// The first byte settles most comparisons without a call.
	if p.key != "" && (k == "" || k[0] != p.key[0]) {
		return false
	}
	if p.whole {
		return k == p.key
	}
	return strings.HasPrefix(k, p.key)
}

func newTerm(text string, weight float64) term {
	var parts []part
	for _, p := range strings.Fields(text) {
		// One-letter parts ("S&T" is "s t") are whole words, not prefixes.
		whole := strings.HasSuffix(p, "$") || len([]rune(p)) == 1
		parts = append(parts, part{key: Key(strings.TrimSuffix(p, "$")), whole: whole})
	}
	return term{text: text, parts: parts, weight: weight}
}

// find returns the index of the first word where t starts, or -1.
func (t term) find(w words) int { return t.findFree(w, nil) }

// findFree is find over the words not taken (by a longer phrase).
func (t term) findFree(w words, taken []bool) int { return t.findFrom(w, taken, 0) }

// findFrom is findFree starting at word from.
func (t term) findFrom(w words, taken []bool, from int) int {
	for i := from; i+len(t.parts) <= len(w.key); i++ {
		ok := true
		for j, p := range t.parts {
			if (taken != nil && taken[i+j]) || !p.matches(w.key[i+j]) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// matched is the text's own words for a match at i (what an explanation shows).
func (t term) matched(w words, i int) string {
	return strings.Join(w.norm[i:i+len(t.parts)], " ")
}
