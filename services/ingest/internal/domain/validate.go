package domain

import (
	"math"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Limits of a submitted record. They bound the size of events and
// projections; the numbers are generous for the sources seen so far.
const (
	MaxTitleRunes       = 500
	MaxSubkindRunes     = 64
	MaxNameRunes        = 300
	MaxPlaceRunes       = 300
	MaxDomains          = 26
	MaxSources          = 50
	MaxURLLen           = 2048
	MaxPublisherRunes   = 300
	MaxQuoteRunes       = 4000
	MaxReferenceRunes   = 300
	MaxAttributes       = 64
	MaxAttrKeyRunes     = 64
	MaxAttrValueRunes   = 2000
	MaxNoteRunes        = 4000
	MaxApproxRunes      = 64
	MinYear             = 1900
	MaxYear             = 2100
	MaxIdempotencyBytes = 512
)

const enrichmentOnly = "set by enrichment; publishers send the name only"

// ValidateAgreement checks a normalised agreement and returns every
// violation, with paths under root (e.g. "agreement").
func ValidateAgreement(a *bilatv1.Agreement, root string) []Violation {
	c := &collector{}
	if a == nil {
		c.add(root, "required")
		return c.list
	}
	checkUnknown(c, root, a.ProtoReflect())
	checkID(c, join(root, "id"), a.GetId())
	checkText(c, join(root, "title"), a.GetTitle(), textRule{required: true, max: MaxTitleRunes})
	checkEnum(c, join(root, "kind"), a.GetKind(), false)
	checkText(c, join(root, "subkind"), a.GetSubkind(), textRule{max: MaxSubkindRunes})

	if len(a.GetParties()) == 0 && a.GetPartner().GetName() == "" {
		c.add(join(root, "parties"), "at least one party or a partner name is required")
	}
	for i, p := range a.GetParties() {
		pp := index(join(root, "parties"), i)
		if p.GetEntity() == nil {
			c.add(join(pp, "entity.name"), "required")
		} else {
			checkEntityRef(c, join(pp, "entity"), p.GetEntity(), true)
		}
		checkEnum(c, join(pp, "level"), p.GetLevel(), true)
		if p.GetLevelInferred() {
			c.add(join(pp, "level_inferred"), "set by enrichment; publishers send level (or leave it unset to have it inferred)")
		}
		if p.GetCountry() != "" && !countryPattern.MatchString(p.GetCountry()) {
			c.add(join(pp, "country"), "must be an ISO 3166-1 alpha-2 code such as GE, got %q", p.GetCountry())
		}
	}
	if a.GetPartner() != nil {
		checkEntityRef(c, join(root, "partner"), a.GetPartner(), true)
	}
	checkPartialDate(c, join(root, "signed_on"), a.GetSignedOn())
	checkPartialDate(c, join(root, "in_force_on"), a.GetInForceOn())
	checkText(c, join(root, "place"), a.GetPlace(), textRule{max: MaxPlaceRunes})
	checkDomains(c, join(root, "domains"), a.GetDomains())
	checkEnum(c, join(root, "status"), a.GetStatus(), false)
	if a.GetValue() != nil {
		checkMoney(c, join(root, "value"), a.GetValue(), false)
	}
	checkSources(c, join(root, "sources"), a.GetSources())
	checkText(c, join(root, "note"), a.GetNote(), textRule{max: MaxNoteRunes, multiline: true})
	checkAttributes(c, join(root, "attributes"), a.GetAttributes())
	if a.GetValueUsd() != nil {
		c.add(join(root, "value_usd"), "set by enrichment; publishers send value only")
	}
	if len(a.GetDomainLabels()) > 0 {
		c.add(join(root, "domain_labels"), "set by enrichment; publishers send domains only")
	}
	if a.GetRevision() != 0 {
		c.add(join(root, "revision"), "set by the projections; must be unset")
	}
	if a.GetUpdatedAt() != nil {
		c.add(join(root, "updated_at"), "set by the projections; must be unset")
	}
	return c.list
}

// ValidateTradeFigure checks a normalised trade figure and returns every
// violation, with paths under root (e.g. "figure").
func ValidateTradeFigure(f *bilatv1.TradeFigure, root string) []Violation {
	c := &collector{}
	if f == nil {
		c.add(root, "required")
		return c.list
	}
	checkUnknown(c, root, f.ProtoReflect())
	checkID(c, join(root, "id"), f.GetId())
	if f.GetReporter() == nil {
		c.add(join(root, "reporter.name"), "required")
	} else {
		checkEntityRef(c, join(root, "reporter"), f.GetReporter(), true)
	}
	if f.GetPartner() == nil {
		c.add(join(root, "partner.name"), "required")
	} else {
		checkEntityRef(c, join(root, "partner"), f.GetPartner(), true)
	}
	periodOK := checkPeriod(c, join(root, "period"), f.GetPeriod(), true)
	checkEnum(c, join(root, "flow"), f.GetFlow(), false)
	checkEnum(c, join(root, "scope"), f.GetScope(), true)
	if f.GetValue() == nil {
		c.add(join(root, "value"), "required")
	} else {
		checkMoney(c, join(root, "value"), f.GetValue(), f.GetFlow() == bilatv1.TradeFlow_TRADE_FLOW_BALANCE)
	}
	if f.GetValueUsd() != nil {
		c.add(join(root, "value_usd"), "set by enrichment; publishers send value only")
	}
	checkText(c, join(root, "approximation"), f.GetApproximation(), textRule{max: MaxApproxRunes})
	if f.StatedGrowthPct != nil {
		g := f.GetStatedGrowthPct()
		switch {
		case math.IsNaN(g) || math.IsInf(g, 0):
			c.add(join(root, "stated_growth_pct"), "must be a finite number")
		case g <= -100:
			c.add(join(root, "stated_growth_pct"), "must be greater than -100 (a fall of 100%% leaves nothing), got %g", g)
		}
	}
	if f.GetGrowthBase() != nil {
		bp := join(root, "growth_base")
		baseOK := checkPeriod(c, bp, f.GetGrowthBase(), false)
		if f.StatedGrowthPct == nil {
			c.add(bp, "set without stated_growth_pct")
		}
		if baseOK && periodOK && !periodBefore(f.GetGrowthBase(), f.GetPeriod()) {
			c.add(bp, "must end before period starts")
		}
	}
	checkSources(c, join(root, "sources"), f.GetSources())
	checkText(c, join(root, "note"), f.GetNote(), textRule{max: MaxNoteRunes, multiline: true})
	checkAttributes(c, join(root, "attributes"), f.GetAttributes())
	if f.GetRevision() != 0 {
		c.add(join(root, "revision"), "set by the projections; must be unset")
	}
	if f.GetUpdatedAt() != nil {
		c.add(join(root, "updated_at"), "set by the projections; must be unset")
	}
	return c.list
}

// ValidateIdempotencyKey checks a publisher-given key; an empty key is
// valid (the content hash is used instead).
func ValidateIdempotencyKey(key, field string) []Violation {
	c := &collector{}
	switch {
	case len(key) > MaxIdempotencyBytes:
		c.add(field, "must be at most %d bytes, got %d", MaxIdempotencyBytes, len(key))
	case !utf8.ValidString(key):
		c.add(field, "must be valid UTF-8")
	case strings.IndexFunc(key, unicode.IsControl) >= 0:
		c.add(field, "must not contain control characters")
	}
	return c.list
}

func checkID(c *collector, path, id string) {
	if id != "" && !idPattern.MatchString(id) {
		c.add(path, "must match %s (lower-case letters, digits, '.', '_', '-'; at most 128), got %q", idPattern, truncate(id, 40))
	}
}

type textRule struct {
	required  bool
	max       int
	multiline bool // allow \n, \r and \t (notes, quotes)
}

func checkText(c *collector, path, s string, r textRule) {
	if s == "" {
		if r.required {
			c.add(path, "required")
		}
		return
	}
	if !utf8.ValidString(s) {
		c.add(path, "must be valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > r.max {
		c.add(path, "must be at most %d characters, got %d", r.max, n)
	}
	bad := strings.IndexFunc(s, func(ch rune) bool {
		if r.multiline && (ch == '\n' || ch == '\r' || ch == '\t') {
			return false
		}
		return unicode.IsControl(ch)
	})
	if bad >= 0 {
		c.add(path, "must not contain control characters (found %U)", []rune(s[bad:])[0])
	}
}

// protoEnum is what every generated enum offers.
type protoEnum interface {
	Descriptor() protoreflect.EnumDescriptor
	Number() protoreflect.EnumNumber
}

func checkEnum(c *collector, path string, e protoEnum, allowUnspecified bool) {
	n := e.Number()
	if e.Descriptor().Values().ByNumber(n) == nil {
		c.add(path, "unknown value %d", n)
		return
	}
	if n == 0 && !allowUnspecified {
		c.add(path, "required (must not be %s)", e.Descriptor().Values().ByNumber(0).Name())
	}
}

func checkEntityRef(c *collector, path string, r *bilatv1.EntityRef, nameRequired bool) {
	checkText(c, join(path, "name"), r.GetName(), textRule{required: nameRequired, max: MaxNameRunes})
	// Everything but the name is the result of resolution.
	if r.GetResolution() != bilatv1.Resolution_RESOLUTION_UNSPECIFIED {
		c.add(join(path, "resolution"), enrichmentOnly)
	}
	if r.GetCode() != "" {
		c.add(join(path, "code"), enrichmentOnly)
	}
	if r.GetKind() != bilatv1.EntityKind_ENTITY_KIND_UNSPECIFIED {
		c.add(join(path, "kind"), enrichmentOnly)
	}
	if r.GetCanonicalName() != "" {
		c.add(join(path, "canonical_name"), enrichmentOnly)
	}
	if r.GetParent() != "" {
		c.add(join(path, "parent"), enrichmentOnly)
	}
	if r.GetCountry() != "" {
		c.add(join(path, "country"), enrichmentOnly)
	}
	if r.GetMatchedAlias() != "" {
		c.add(join(path, "matched_alias"), enrichmentOnly)
	}
	if r.GetConfidence() != 0 {
		c.add(join(path, "confidence"), enrichmentOnly)
	}
	if len(r.GetCandidates()) > 0 {
		c.add(join(path, "candidates"), enrichmentOnly)
	}
}

// checkPartialDate validates a present date: a year, year-month or a full
// calendar date.
func checkPartialDate(c *collector, path string, d *bilatv1.PartialDate) {
	if d == nil {
		return
	}
	y, m, day := d.GetYear(), d.GetMonth(), d.GetDay()
	yearOK := y >= MinYear && y <= MaxYear
	if !yearOK {
		c.add(join(path, "year"), "must be between %d and %d, got %d", MinYear, MaxYear, y)
	}
	monthOK := m >= 0 && m <= 12
	if !monthOK {
		c.add(join(path, "month"), "must be between 1 and 12, or 0 when unknown, got %d", m)
	}
	switch {
	case day < 0 || day > 31:
		c.add(join(path, "day"), "must be between 1 and 31, or 0 when unknown, got %d", day)
	case day > 0 && m == 0:
		c.add(join(path, "day"), "requires a month")
	case day > 0 && monthOK && yearOK && day > daysIn(y, m):
		c.add(join(path, "day"), "%d is not a day of %04d-%02d (%d days)", day, y, m, daysIn(y, m))
	}
}

func daysIn(year, month int32) int32 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

// checkPeriod reports whether the period is present and valid.
func checkPeriod(c *collector, path string, p *bilatv1.Period, required bool) bool {
	if p == nil {
		if required {
			c.add(path, "required")
		}
		return !required
	}
	before := len(c.list)
	if y := p.GetYear(); y < MinYear || y > MaxYear {
		c.add(join(path, "year"), "must be between %d and %d, got %d", MinYear, MaxYear, y)
	}
	first, last := p.GetFirstMonth(), p.GetLastMonth()
	switch {
	case first == 0 && last == 0:
	case first == 0 || last == 0:
		c.add(path, "first_month and last_month must both be 0 (the whole year) or both be set, got %d..%d", first, last)
	default:
		if first < 1 || first > 12 {
			c.add(join(path, "first_month"), "must be between 1 and 12, got %d", first)
		}
		if last < 1 || last > 12 {
			c.add(join(path, "last_month"), "must be between 1 and 12, got %d", last)
		} else if first >= 1 && first <= 12 && first > last {
			c.add(join(path, "last_month"), "must not be before first_month (%d..%d)", first, last)
		}
	}
	return len(c.list) == before
}

// periodBefore reports whether a ends before b starts; both are valid.
func periodBefore(a, b *bilatv1.Period) bool {
	aLast := a.GetLastMonth()
	if aLast == 0 {
		aLast = 12
	}
	bFirst := b.GetFirstMonth()
	if bFirst == 0 {
		bFirst = 1
	}
	return a.GetYear()*12+aLast < b.GetYear()*12+bFirst
}

func checkDomains(c *collector, path string, ds []bilatv1.Domain) {
	if len(ds) > MaxDomains {
		c.add(path, "at most %d domains, got %d", MaxDomains, len(ds))
	}
	seen := make(map[bilatv1.Domain]int, len(ds))
	for i, d := range ds {
		p := index(path, i)
		checkEnum(c, p, d, false)
		if first, dup := seen[d]; dup {
			c.add(p, "duplicate of %s[%d] (%s)", path, first, d)
			continue
		}
		seen[d] = i
	}
}

func checkMoney(c *collector, path string, m *bilatv1.Money, allowNegative bool) {
	if !currencyPattern.MatchString(m.GetCurrency()) {
		if m.GetCurrency() == "" {
			c.add(join(path, "currency"), "required")
		} else {
			c.add(join(path, "currency"), "must be an ISO 4217 code of three letters such as USD, got %q", truncate(m.GetCurrency(), 20))
		}
	}
	units, nanos := m.GetUnits(), m.GetNanos()
	if nanos <= -1e9 || nanos >= 1e9 {
		c.add(join(path, "nanos"), "must be between -999999999 and 999999999, got %d", nanos)
	}
	if (units > 0 && nanos < 0) || (units < 0 && nanos > 0) {
		c.add(join(path, "nanos"), "must have the same sign as units")
	}
	if !allowNegative && (units < 0 || nanos < 0) {
		c.add(path, "must not be negative")
	}
}

func checkSources(c *collector, path string, ss []*bilatv1.Source) {
	if len(ss) > MaxSources {
		c.add(path, "at most %d sources, got %d", MaxSources, len(ss))
	}
	for i, s := range ss {
		p := index(path, i)
		if u := s.GetUrl(); u != "" {
			checkURL(c, join(p, "url"), u)
		}
		checkText(c, join(p, "publisher"), s.GetPublisher(), textRule{max: MaxPublisherRunes})
		checkPartialDate(c, join(p, "published"), s.GetPublished())
		checkText(c, join(p, "quote"), s.GetQuote(), textRule{max: MaxQuoteRunes, multiline: true})
		checkText(c, join(p, "reference"), s.GetReference(), textRule{max: MaxReferenceRunes})
	}
}

func checkURL(c *collector, path, raw string) {
	if len(raw) > MaxURLLen {
		c.add(path, "must be at most %d bytes, got %d", MaxURLLen, len(raw))
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		c.add(path, "not a URL: %v", err)
		return
	}
	if !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(path, "must be an absolute http or https URL, got %q", truncate(raw, 80))
	}
}

func checkAttributes(c *collector, path string, attrs map[string]string) {
	if len(attrs) > MaxAttributes {
		c.add(path, "at most %d entries, got %d", MaxAttributes, len(attrs))
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	// Sorted so that the same record always yields the same violations.
	sort.Strings(keys)
	for _, k := range keys {
		p := mapKey(path, truncate(k, 80))
		if k == "" {
			c.add(p, "key must not be empty")
		} else if !utf8.ValidString(k) {
			c.add(p, "key must be valid UTF-8")
		} else {
			if n := utf8.RuneCountInString(k); n > MaxAttrKeyRunes {
				c.add(p, "key must be at most %d characters, got %d", MaxAttrKeyRunes, n)
			}
			if strings.IndexFunc(k, unicode.IsControl) >= 0 {
				c.add(p, "key must not contain control characters")
			}
		}
		checkText(c, p, attrs[k], textRule{max: MaxAttrValueRunes, multiline: true})
	}
}

// checkUnknown rejects fields this schema does not know. Binary payloads
// keep them silently, protojson rejects them; rejecting both keeps the two
// encodings equivalent and the content hash meaningful.
func checkUnknown(c *collector, path string, m protoreflect.Message) {
	if !hasUnknown(m) {
		return // the usual case: no field paths to build
	}
	if len(m.GetUnknown()) > 0 {
		c.add(path, "contains fields unknown to this schema version (%d bytes)", len(m.GetUnknown()))
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fp := join(path, string(fd.Name()))
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				checkUnknown(c, index(fp, i), l.Get(i).Message())
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					checkUnknown(c, mapKey(fp, k.String()), mv.Message())
					return true
				})
			}
		case fd.Message() != nil:
			checkUnknown(c, fp, v.Message())
		}
		return true
	})
}

// hasUnknown reports whether m or a message inside it has unknown fields.
func hasUnknown(m protoreflect.Message) bool {
	if len(m.GetUnknown()) > 0 {
		return true
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len() && !found; i++ {
				found = hasUnknown(l.Get(i).Message())
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					found = hasUnknown(mv.Message())
					return !found
				})
			}
		case fd.Message() != nil:
			found = hasUnknown(v.Message())
		}
		return !found
	})
	return found
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the quoted text stays readable.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
