package domain

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Limits of PartnerService.
const (
	DefaultSearchLimit = 10
	MaxSearchLimit     = 100
	// TopDomains is how many domains a profile lists as its top domains.
	TopDomains = 5
)

// ProfileQuery is a GetPartnerProfile request.
type ProfileQuery struct {
	Partner            string
	IncludeSubEntities bool
	FromYear           int32
	ToYear             int32
}

// ValidateProfile checks a GetPartnerProfile request.
func ValidateProfile(q ProfileQuery) []Violation {
	return append(requiredCode("partner", q.Partner), validateYears(q.FromYear, q.ToYear)...)
}

// SearchQuery is a SearchPartners request.
type SearchQuery struct {
	Query string
	Limit int32
	Kind  bilatv1.EntityKind
}

// ValidateSearch checks a SearchPartners request.
func ValidateSearch(q SearchQuery) []Violation {
	var vs []Violation
	if strings.TrimSpace(q.Query) == "" {
		vs = append(vs, Violation{"query", "is required (a prefix or a name)"})
	}
	if q.Limit < 0 || q.Limit > MaxSearchLimit {
		vs = append(vs, Violation{"limit", fmt.Sprintf("must be between 0 (default %d) and %d", DefaultSearchLimit, MaxSearchLimit)})
	}
	if _, ok := bilatv1.EntityKind_name[int32(q.Kind)]; !ok {
		vs = append(vs, Violation{"kind", fmt.Sprintf("%d is not a bilat.v1.EntityKind value", q.Kind)})
	}
	return vs
}

// SearchLimit is the limit a search asks the gazetteer for.
func SearchLimit(n int32) int32 {
	if n == 0 {
		return DefaultSearchLimit
	}
	return n
}

// MaybeSubEntity reports whether code can denote a sub-entity of parent by
// the gazetteer's code scheme (data/README.md): a region's code extends its
// country's with "-" ("RU-STA"), a city's or district's extends its
// parent's with "." ("RU-STA.stavropol", "RU.ncfd"). The gazetteer
// confirms each candidate; this only keeps the number of questions small.
func MaybeSubEntity(parent, code string) bool {
	return len(code) > len(parent)+1 && strings.HasPrefix(code, parent) &&
		(code[len(parent)] == '-' || code[len(parent)] == '.')
}

// MergeCounts adds up the agreement counts of several partners (a partner
// and its sub-entities) per domain and year, ordered by year then domain.
func MergeCounts(parts ...[]*bilatv1.AgreementCount) []*bilatv1.AgreementCount {
	type key struct {
		d bilatv1.Domain
		y int32
	}
	sum := map[key]int64{}
	for _, cs := range parts {
		for _, c := range cs {
			sum[key{c.GetDomain(), c.GetYear()}] += c.GetCount()
		}
	}
	out := make([]*bilatv1.AgreementCount, 0, len(sum))
	for k, n := range sum {
		out = append(out, &bilatv1.AgreementCount{Domain: k.d, Year: k.y, Count: n})
	}
	slices.SortFunc(out, func(a, b *bilatv1.AgreementCount) int {
		return cmp.Or(cmp.Compare(a.GetYear(), b.GetYear()), cmp.Compare(a.GetDomain(), b.GetDomain()))
	})
	return out
}

// TopDomainsOf sums the counts per domain, most agreements first (ties by
// domain number), keeping at most n. Agreements without a domain are not a
// domain and are left out.
func TopDomainsOf(counts []*bilatv1.AgreementCount, n int) []*bilatv1.DomainTotal {
	sum := map[bilatv1.Domain]int64{}
	for _, c := range counts {
		if c.GetDomain() != bilatv1.Domain_DOMAIN_UNSPECIFIED {
			sum[c.GetDomain()] += c.GetCount()
		}
	}
	out := make([]*bilatv1.DomainTotal, 0, len(sum))
	for d, k := range sum {
		out = append(out, &bilatv1.DomainTotal{Domain: d, Agreements: k})
	}
	slices.SortFunc(out, func(a, b *bilatv1.DomainTotal) int {
		return cmp.Or(cmp.Compare(b.GetAgreements(), a.GetAgreements()), cmp.Compare(a.GetDomain(), b.GetDomain()))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// DateScore orders partial dates: year*10000 + month*100 + day, so a
// year-only date sorts before the dated ones of its year; undated is 0
// (the projection's ordering).
func DateScore(d *bilatv1.PartialDate) int64 {
	if d.GetYear() <= 0 {
		return 0
	}
	return int64(d.GetYear())*10000 + int64(min(max(d.GetMonth(), 0), 12))*100 + int64(min(max(d.GetDay(), 0), 31))
}

// Timeline merges agreements (by signing date) and trade periods, oldest
// first. A year of trade sums up the whole year, so it comes after that
// year's agreements (a month range after the agreements of its last
// month); undated agreements come last, by id.
func Timeline(agreements []*bilatv1.Agreement, trade []*bilatv1.TradePeriodStats) []*bilatv1.TimelineEntry {
	type entry struct {
		score int64
		kind  int // 0 agreement, 1 trade: agreements first on the same score
		tie   string
		e     *bilatv1.TimelineEntry
	}
	const undated = int64(1) << 62
	es := make([]entry, 0, len(agreements)+len(trade))
	for _, a := range agreements {
		s := DateScore(a.GetSignedOn())
		if s == 0 {
			s = undated
		}
		es = append(es, entry{s, 0, a.GetId(), &bilatv1.TimelineEntry{
			Date: a.GetSignedOn(), Item: &bilatv1.TimelineEntry_Agreement{Agreement: a},
		}})
	}
	for _, t := range trade {
		p := t.GetPeriod()
		if p.GetYear() <= 0 {
			continue
		}
		date := &bilatv1.PartialDate{Year: p.GetYear()}
		s := int64(p.GetYear())*10000 + 1299
		if !annual(p) {
			date.Month = p.GetLastMonth()
			s = int64(p.GetYear())*10000 + int64(p.GetLastMonth())*100 + 99
		}
		tie := fmt.Sprintf("%s|%02d|%d|%s", t.GetReporter(), p.GetFirstMonth(), t.GetScope(), t.GetRollup())
		es = append(es, entry{s, 1, tie, &bilatv1.TimelineEntry{
			Date: date, Item: &bilatv1.TimelineEntry_Trade{Trade: t},
		}})
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.kind, b.kind), strings.Compare(a.tie, b.tie))
	})
	out := make([]*bilatv1.TimelineEntry, len(es))
	for i, e := range es {
		out[i] = e.e
	}
	return out
}
