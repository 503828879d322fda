package domain

import (
	"cmp"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

type domainTerm struct {
	domain bilatv1.Domain
	t      term
	start  int32 // startHash of the term's first word, -1 when it is shorter than two bytes
}

// byLength is every term of the lexicon, longest phrase first: a phrase
// takes its words before shorter terms see them ("information space" is
// information, not "space" for science; "physical culture" is sport).
var byLength = func() []domainTerm {
	var out []domainTerm
	for _, dt := range compiled {
		for _, t := range dt.terms {
			start := int32(-1)
			if k := t.parts[0].key; len(k) >= 2 {
				start = int32(startHash(k))
			}
			out = append(out, domainTerm{domain: dt.domain, t: t, start: start})
		}
	}
	slices.SortStableFunc(out, func(a, b domainTerm) int { return cmp.Compare(len(b.t.parts), len(a.t.parts)) })
	return out
}()

// Classify labels a title (and optional text) with every domain whose
// terms weigh at least DomainThreshold; each label lists the words that
// decided it, as written (normalised). A term counts once however often it
// occurs, so a long text does not outvote its title by repetition. The
// words naming a ministry ("Ministry of Sport and Tourism") are set aside
// first, and used only when nothing else in the text labels a domain.
func Classify(title, text string) []*bilatv1.DomainLabel {
	w := splitWords(title + " \n " + text)
	mask := ministryNames(w)
	labels := classify(w, mask)
	if len(labels) == 0 && slices.Contains(mask, true) {
		labels = classify(w, nil)
	}
	return labels
}

// wordStarts is the set of the first two bytes of a text's words, hashed
// into 4,096 bits: a collision only costs a term a scan.
type wordStarts [64]uint64

func startsOf(w words) *wordStarts {
	var s wordStarts
	for _, k := range w.key {
		if len(k) >= 2 {
			h := startHash(k)
			s[h/64] |= 1 << (h % 64)
		}
	}
	return &s
}

func startHash(k string) uint32 { return (uint32(k[0])*257 + uint32(k[1])) % 4096 }

// mayStart reports whether a word of the text may begin as a term whose
// first word has the startHash h does (the prefix of a part, or the whole
// word, starts with its first two bytes); h < 0 (a shorter first word) is
// always tried.
func (s *wordStarts) mayStart(h int32) bool {
	return h < 0 || s[h/64]&(1<<(h%64)) != 0
}

// ministryNames marks up to two words after "ministry"/"министерство"
// ("of Sport and Tourism", "of Information and Culture"), stopping at
// "republic": they name the ministry rather than the subject.
func ministryNames(w words) []bool {
	mask := make([]bool, len(w.key))
	for i, k := range w.key {
		if !strings.HasPrefix(k, "minist") {
			continue
		}
		for j := i + 1; j < len(w.key) && j <= i+2; j++ {
			if strings.HasPrefix(w.key[j], "republ") || strings.HasPrefix(w.key[j], "respubl") || strings.HasPrefix(w.key[j], "minist") {
				break
			}
			mask[j] = true
		}
	}
	return mask
}

func classify(w words, pre []bool) []*bilatv1.DomainLabel {
	taken := make([]bool, len(w.key))
	copy(taken, pre)
	score := map[bilatv1.Domain]float64{}
	terms := map[bilatv1.Domain][]string{}
	var claim [][2]int
	starts := startsOf(w)
	for i, dt := range byLength {
		// Most terms of the lexicon begin as no word of the text does:
		// they are skipped without a scan.
		at := -1
		if starts.mayStart(dt.start) {
			at = dt.t.findFree(w, taken)
		}
		if at >= 0 {
			m := dt.t.matched(w, at)
			if !slices.Contains(terms[dt.domain], m) {
				score[dt.domain] += dt.t.weight
				terms[dt.domain] = append(terms[dt.domain], m)
			}
			// Every occurrence is claimed, not just the first.
			for ; at >= 0; at = dt.t.findFrom(w, taken, at+1) {
				claim = append(claim, [2]int{at, at + len(dt.t.parts)})
			}
		}
		// Words are taken once every term of this length has looked, so
		// one phrase can label several domains ("chamber of commerce").
		if i+1 == len(byLength) || len(byLength[i+1].t.parts) != len(dt.t.parts) {
			for _, c := range claim {
				for k := c[0]; k < c[1]; k++ {
					taken[k] = true
				}
			}
			claim = claim[:0]
		}
	}
	var out []*bilatv1.DomainLabel
	for _, dt := range compiled {
		if dt.domain != bilatv1.Domain_DOMAIN_UNSPECIFIED && score[dt.domain] >= DomainThreshold {
			out = append(out, &bilatv1.DomainLabel{Domain: dt.domain, Terms: terms[dt.domain]})
		}
	}
	return out
}

// LabelDomains sets a.DomainLabels: the publisher's domains first, marked
// given (with the classifier's terms when it agrees), then the
// classifier's other domains, marked not given. a.Domains is filled from
// the classifier only when the publisher gave none; given domains are the
// publisher's word and are never widened.
func LabelDomains(a *bilatv1.Agreement) {
	found := Classify(a.GetTitle(), a.GetText())
	byDomain := map[bilatv1.Domain]*bilatv1.DomainLabel{}
	for _, l := range found {
		byDomain[l.Domain] = l
	}
	a.DomainLabels = nil
	given := map[bilatv1.Domain]bool{}
	for _, d := range a.Domains {
		if given[d] || d == bilatv1.Domain_DOMAIN_UNSPECIFIED {
			continue
		}
		given[d] = true
		l := &bilatv1.DomainLabel{Domain: d, Given: true}
		if f := byDomain[d]; f != nil {
			l.Terms = f.Terms
		}
		a.DomainLabels = append(a.DomainLabels, l)
	}
	for _, l := range found {
		if !given[l.Domain] {
			a.DomainLabels = append(a.DomainLabels, l)
		}
	}
	if len(given) == 0 {
		for _, l := range found {
			a.Domains = append(a.Domains, l.Domain)
		}
	}
}
