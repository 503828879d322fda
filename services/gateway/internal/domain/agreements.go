package domain

import (
	"cmp"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Limits of AgreementFilter's text fields.
const (
	MaxTextLen   = 200 // characters of filter.query and filter.place
	MaxTextWords = 8
)

// Fold is the form titles, places and query words are compared in: lower
// case, accents and other combining marks removed (NFD, then marks
// dropped), so "Tbilisi" matches "tbilisi" and "Ёлка" matches "елка"; any
// script (Latin, Cyrillic, Georgian) folds the same way.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Words splits folded text into words: runs of letters and digits.
func Words(s string) []string {
	return strings.FieldsFunc(Fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// dayKey is a date as a comparable number yyyymmdd.
func dayKey(y, m, d int32) int64 { return int64(y)*10000 + int64(m)*100 + int64(d) }

// PeriodOf is the first and last day (yyyymmdd) of the period a partial
// date denotes ("2017" is 20170101..20171231; months are taken to have 31
// days, which orders correctly against real dates); ok false when undated.
func PeriodOf(d *bilatv1.PartialDate) (first, last int64, ok bool) {
	if d.GetYear() <= 0 {
		return 0, 0, false
	}
	y, m, day := d.GetYear(), d.GetMonth(), d.GetDay()
	switch {
	case m <= 0 || m > 12:
		return dayKey(y, 1, 1), dayKey(y, 12, 31), true
	case day <= 0 || day > 31:
		return dayKey(y, m, 1), dayKey(y, m, 31), true
	}
	return dayKey(y, m, day), dayKey(y, m, day), true
}

// memberFrom is the first day of a membership bound (joined or left): a
// missing month or day counts as the first, as in statistics' roll-ups.
func memberFrom(d *bilatv1.PartialDate) (int64, bool) {
	if d.GetYear() <= 0 {
		return 0, false
	}
	return dayKey(d.GetYear(), max(d.GetMonth(), 1), max(d.GetDay(), 1)), true
}

// dateSet reports whether a partial date field is set (all zero is unset).
func dateSet(d *bilatv1.PartialDate) bool {
	return d.GetYear() != 0 || d.GetMonth() != 0 || d.GetDay() != 0
}

// validatePartialDate checks a partial date: a year in range, a month only
// with a year, a day only with a month, and a real calendar day.
func validatePartialDate(field string, d *bilatv1.PartialDate) []Violation {
	y, m, day := d.GetYear(), d.GetMonth(), d.GetDay()
	switch {
	case y < MinYear || y > MaxYear:
		return []Violation{{field + ".year", fmt.Sprintf("must be between %d and %d", MinYear, MaxYear)}}
	case m < 0 || m > 12:
		return []Violation{{field + ".month", "must be 0 (unknown) or 1..12"}}
	case day < 0 || (day > 0 && m == 0):
		return []Violation{{field + ".day", "must be 0 (unknown), and needs a month when set"}}
	case day > daysIn(y, m):
		return []Violation{{field + ".day", fmt.Sprintf("%04d-%02d has %d days", y, m, daysIn(y, m))}}
	}
	return nil
}

func daysIn(y, m int32) int32 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func validEnum[T ~int32](names map[int32]string, v T) bool {
	_, ok := names[int32(v)]
	return ok
}

// validateText checks filter.query / filter.place.
func validateText(field, s string) []Violation {
	switch {
	case utf8.RuneCountInString(s) > MaxTextLen:
		return []Violation{{field, fmt.Sprintf("must be at most %d characters", MaxTextLen)}}
	case !utf8.ValidString(s):
		return []Violation{{field, "must be valid UTF-8"}}
	case s != "" && len(Words(s)) == 0:
		return []Violation{{field, "has no words (letters or digits)"}}
	case len(Words(s)) > MaxTextWords:
		return []Violation{{field, fmt.Sprintf("must have at most %d words", MaxTextWords)}}
	}
	return nil
}

// ValidateAgreementFilter checks an AgreementFilter; prefix names the
// request field holding it ("filter").
func ValidateAgreementFilter(prefix string, f *bilatv1.AgreementFilter) []Violation {
	var vs []Violation
	p := prefix + "."
	if f.GetPartner() != "" && !reCode.MatchString(f.GetPartner()) {
		vs = append(vs, Violation{p + "partner", codeHelp})
	}
	if f.GetIncludeSubEntities() && f.GetPartner() == "" {
		vs = append(vs, Violation{p + "include_sub_entities", "needs partner"})
	}
	if f.GetBloc() != "" && !reCode.MatchString(f.GetBloc()) {
		vs = append(vs, Violation{p + "bloc", "must be a bloc code such as bloc.cis"})
	}
	if !validEnum(bilatv1.Domain_name, f.GetDomain()) {
		vs = append(vs, Violation{p + "domain", fmt.Sprintf("%d is not a bilat.v1.Domain value", f.GetDomain())})
	}
	if !validEnum(bilatv1.PartyLevel_name, f.GetLevel()) {
		vs = append(vs, Violation{p + "level", fmt.Sprintf("%d is not a bilat.v1.PartyLevel value", f.GetLevel())})
	}
	if !validEnum(bilatv1.AgreementKind_name, f.GetKind()) {
		vs = append(vs, Violation{p + "kind", fmt.Sprintf("%d is not a bilat.v1.AgreementKind value", f.GetKind())})
	}
	if !validEnum(bilatv1.AgreementStatus_name, f.GetStatus()) {
		vs = append(vs, Violation{p + "status", fmt.Sprintf("%d is not a bilat.v1.AgreementStatus value", f.GetStatus())})
	}
	var dateBad bool
	for _, d := range []struct {
		name string
		v    *bilatv1.PartialDate
	}{{"signed_from", f.GetSignedFrom()}, {"signed_to", f.GetSignedTo()}} {
		if dateSet(d.v) {
			if dv := validatePartialDate(p+d.name, d.v); len(dv) > 0 {
				vs, dateBad = append(vs, dv...), true
			}
		}
	}
	if !dateBad && dateSet(f.GetSignedFrom()) && dateSet(f.GetSignedTo()) {
		from, _, _ := PeriodOf(f.GetSignedFrom())
		_, to, _ := PeriodOf(f.GetSignedTo())
		if from > to {
			vs = append(vs, Violation{p + "signed_from", "must not be after signed_to"})
		}
	}
	vs = append(vs, validateText(p+"place", f.GetPlace())...)
	vs = append(vs, validateText(p+"query", f.GetQuery())...)
	return vs
}

// ListAgreementsQuery is a ListAgreements request.
type ListAgreementsQuery struct {
	Filter   *bilatv1.AgreementFilter
	Order    bilatv1.AgreementOrder
	PageSize int32
}

// ValidateListAgreements checks a ListAgreements request (the page token is
// checked by the use case against the filter and order).
func ValidateListAgreements(q ListAgreementsQuery) []Violation {
	vs := ValidateAgreementFilter("filter", q.Filter)
	if !validEnum(bilatv1.AgreementOrder_name, q.Order) {
		vs = append(vs, Violation{"order_by", fmt.Sprintf("%d is not a bilat.v1.AgreementOrder value", q.Order)})
	} else if q.Order == bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE && strings.TrimSpace(q.Filter.GetQuery()) == "" {
		vs = append(vs, Violation{"order_by", "RELEVANCE needs filter.query"})
	}
	if q.PageSize < 0 || q.PageSize > MaxPageSize {
		vs = append(vs, Violation{"page_size", fmt.Sprintf("must be between 0 (default 50) and %d", MaxPageSize)})
	}
	return vs
}

// interval is a membership: from its first day, up to (not including) the
// first day of leaving; to 0 is open.
type interval struct{ from, to int64 }

// Matcher is an AgreementFilter ready to test agreements: the one predicate
// ListAgreements and WatchAgreements share.
type Matcher struct {
	f          *bilatv1.AgreementFilter
	from, to   int64 // signing range, yyyymmdd; 0 open
	ranged     bool
	place      []string
	query      []string
	members    map[string][]interval // bloc members' memberships of the bloc
	blocFilter bool
}

// NewMatcher compiles a validated filter. members are the bloc's members
// (GazetteerService.GetEntity(bloc).members) when filter.bloc is set; each
// member's memberships of that bloc decide whether an agreement signed on
// a date counts.
func NewMatcher(f *bilatv1.AgreementFilter, members []*bilatv1.Entity) *Matcher {
	m := &Matcher{f: f, place: Words(f.GetPlace()), query: Words(f.GetQuery())}
	if dateSet(f.GetSignedFrom()) {
		m.from, _, _ = PeriodOf(f.GetSignedFrom())
		m.ranged = true
	}
	if dateSet(f.GetSignedTo()) {
		_, m.to, _ = PeriodOf(f.GetSignedTo())
		m.ranged = true
	}
	if f.GetBloc() != "" {
		m.blocFilter = true
		m.members = map[string][]interval{}
		for _, e := range members {
			for _, ms := range e.GetMemberships() {
				if ms.GetBloc() != f.GetBloc() {
					continue
				}
				iv := interval{}
				iv.from, _ = memberFrom(ms.GetJoined())
				iv.to, _ = memberFrom(ms.GetLeft())
				m.members[e.GetCode()] = append(m.members[e.GetCode()], iv)
			}
		}
	}
	return m
}

// ScoreRange is the DateScore range (projection.DateScore) that holds every
// agreement the signing range can match, for narrowing an index read; both
// 0 when the filter has no range.
func (m *Matcher) ScoreRange() (lo, hi int64) {
	if !m.ranged {
		return 0, 0
	}
	lo, hi = 1, 1<<53
	if m.from > 0 {
		lo = m.from / 10000 * 10000 // from the year's start: "2017" scores 20170000
	}
	if m.to > 0 {
		hi = m.to/10000*10000 + 9999
	}
	return lo, hi
}

// Parents maps entity codes to their parent codes, as learnt from the
// partner references of agreements; it lets sub-entity matching reach
// below the first level (a city of a region of a federal district).
type Parents map[string]string

// Learn records a's partner's parent.
func (p Parents) Learn(a *bilatv1.Agreement) {
	ref := a.GetPartner()
	if ref.GetCode() != "" && ref.GetParent() != "" && ref.GetParent() != ref.GetCode() {
		p[ref.GetCode()] = ref.GetParent()
	}
}

// partnerCode is the code an agreement is stored under: the resolved
// code, or "unresolved" (as projection.PartnerCode).
func partnerCode(ref *bilatv1.EntityRef) string {
	if ref.GetCode() == "" {
		return "unresolved"
	}
	return ref.GetCode()
}

// lineage is the partner code, then its parent, country and the known
// ancestors of the parent, each once.
func lineage(ref *bilatv1.EntityRef, parents Parents) []string {
	out := make([]string, 0, 4)
	add := func(c string) {
		if c != "" {
			for _, x := range out {
				if x == c {
					return
				}
			}
			out = append(out, c)
		}
	}
	add(partnerCode(ref))
	add(ref.GetParent())
	add(ref.GetCountry())
	c := ref.GetParent()
	for range 8 { // bounded: a cycle in learnt data must not hang a request
		next, ok := parents[c]
		if !ok {
			break
		}
		add(next)
		c = next
	}
	return out
}

// Match reports whether a passes every set field of the filter.
func (m *Matcher) Match(a *bilatv1.Agreement, parents Parents) bool {
	f := m.f
	ref := a.GetPartner()
	if p := f.GetPartner(); p != "" {
		if f.GetIncludeSubEntities() {
			found := false
			for _, c := range lineage(ref, parents) {
				if c == p {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		} else if partnerCode(ref) != p {
			return false
		}
	}
	if f.GetDomain() != bilatv1.Domain_DOMAIN_UNSPECIFIED && !containsDomain(a.GetDomains(), f.GetDomain()) {
		return false
	}
	if f.GetLevel() != bilatv1.PartyLevel_PARTY_LEVEL_UNSPECIFIED && !hasLevel(a, f.GetLevel()) {
		return false
	}
	if f.GetKind() != bilatv1.AgreementKind_AGREEMENT_KIND_UNSPECIFIED && a.GetKind() != f.GetKind() {
		return false
	}
	if f.GetStatus() != bilatv1.AgreementStatus_AGREEMENT_STATUS_UNSPECIFIED && a.GetStatus() != f.GetStatus() {
		return false
	}
	first, last, dated := PeriodOf(a.GetSignedOn())
	if m.ranged && (!dated || (m.from > 0 && last < m.from) || (m.to > 0 && first > m.to)) {
		return false
	}
	if m.blocFilter && !m.inBloc(ref, parents, first, last, dated) {
		return false
	}
	if len(m.place) > 0 && !allWhole(m.place, Words(a.GetPlace())) {
		return false
	}
	if len(m.query) > 0 && m.Relevance(a) == 0 {
		return false
	}
	return true
}

// inBloc: an agreement with the bloc itself, or with a member (or a
// sub-entity of one) whose membership overlaps the signing date's period.
func (m *Matcher) inBloc(ref *bilatv1.EntityRef, parents Parents, first, last int64, dated bool) bool {
	if partnerCode(ref) == m.f.GetBloc() {
		return true
	}
	if !dated {
		return false // membership cannot be judged without a date
	}
	for _, c := range lineage(ref, parents) {
		for _, iv := range m.members[c] {
			if last >= iv.from && (iv.to == 0 || first < iv.to) {
				return true
			}
		}
	}
	return false
}

func containsDomain(ds []bilatv1.Domain, d bilatv1.Domain) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func hasLevel(a *bilatv1.Agreement, l bilatv1.PartyLevel) bool {
	for _, p := range a.GetParties() {
		if p.GetLevel() == l {
			return true
		}
	}
	return false
}

// allWhole reports whether every word occurs among words.
func allWhole(want, words []string) bool {
	for _, w := range want {
		found := false
		for _, x := range words {
			if x == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Relevance scores a's title against the query words: 0 when some word
// starts no title word (no match); otherwise each query word adds 2 when
// it is a whole title word and 1 when it only starts one.
func (m *Matcher) Relevance(a *bilatv1.Agreement) int {
	if len(m.query) == 0 {
		return 0
	}
	title := Words(a.GetTitle())
	score := 0
	for _, q := range m.query {
		best := 0
		for _, w := range title {
			switch {
			case w == q:
				best = 2
			case best == 0 && strings.HasPrefix(w, q):
				best = 1
			}
			if best == 2 {
				break
			}
		}
		if best == 0 {
			return 0
		}
		score += best
	}
	return score
}

// SortKey is an agreement's position in a listing order, compared
// ascending, then by id: newest first puts undated last, oldest first
// too, relevance puts the best match first and then the newest.
type SortKey [2]int64

// undatedLast sorts undated agreements after every dated one ascending.
const undatedLast = int64(1) << 62

// KeyOf is a's SortKey in order; dateScore is projection.DateScore of its
// signing date and relevance Matcher.Relevance.
func KeyOf(order bilatv1.AgreementOrder, dateScore int64, relevance int) SortKey {
	switch order {
	case bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC:
		if dateScore == 0 {
			return SortKey{undatedLast, 0}
		}
		return SortKey{dateScore, 0}
	case bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE:
		return SortKey{-int64(relevance), -dateScore}
	}
	return SortKey{-dateScore, 0} // undated: 0 sorts after every -date
}

// ComparePositions orders (key, id) positions of a listing in order. Ties
// go by id, descending for SIGNED_DESC: the order in which Redis walks an
// index backwards, so a listing the indexes answer alone (IndexOnly) and a
// filtered one agree.
func ComparePositions(order bilatv1.AgreementOrder, ak SortKey, aid string, bk SortKey, bid string) int {
	ids := strings.Compare(aid, bid)
	if order == bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_DESC || order == bilatv1.AgreementOrder_AGREEMENT_ORDER_UNSPECIFIED {
		ids = -ids
	}
	return cmp.Or(cmp.Compare(ak[0], bk[0]), cmp.Compare(ak[1], bk[1]), ids)
}

// IndexOnly reports whether the projection's indexes answer f in order by
// themselves, a page at a time with an exact count and without reading
// every candidate: a partner (without its sub-entities) and/or a domain,
// signing bounds of whole years, newest first.
func IndexOnly(f *bilatv1.AgreementFilter, order bilatv1.AgreementOrder) bool {
	wholeYear := func(d *bilatv1.PartialDate) bool { return d.GetMonth() == 0 && d.GetDay() == 0 }
	return (order == bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_DESC || order == bilatv1.AgreementOrder_AGREEMENT_ORDER_UNSPECIFIED) &&
		!f.GetIncludeSubEntities() && f.GetBloc() == "" &&
		f.GetLevel() == bilatv1.PartyLevel_PARTY_LEVEL_UNSPECIFIED &&
		f.GetKind() == bilatv1.AgreementKind_AGREEMENT_KIND_UNSPECIFIED &&
		f.GetStatus() == bilatv1.AgreementStatus_AGREEMENT_STATUS_UNSPECIFIED &&
		strings.TrimSpace(f.GetPlace()) == "" && strings.TrimSpace(f.GetQuery()) == "" &&
		wholeYear(f.GetSignedFrom()) && wholeYear(f.GetSignedTo())
}
