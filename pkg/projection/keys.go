// Package projection is the Redis read model of Bilat: the key schema, the
// atomic apply scripts the statistics service runs for every enriched event,
// and the read functions the gateway and statistics APIs serve from.
//
// Every key one event touches carries the partner code in a hash tag
// (bilat:{GE}:...), so a partner's keys share one Redis Cluster slot and one
// Lua script can update them atomically. The few global indexes (bilat:idx:...)
// live outside the partner slots and are written by separate idempotent steps.
package projection

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// DefaultPrefix starts every key.
const DefaultPrefix = "bilat:"

// Unresolved is the partner (or reporter) code of records whose partner
// enrichment could not resolve; they are stored under it, never dropped.
const Unresolved = "unresolved"

// NoDomain is the counts-hash domain of agreements without any domain.
const NoDomain = "none"

// Keys builds key names under one prefix (DefaultPrefix in production; tests
// use their own so they can share a Redis).
type Keys struct{ prefix string }

// NewKeys returns the builder for prefix, or DefaultPrefix when prefix is empty.
func NewKeys(prefix string) Keys {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return Keys{prefix: prefix}
}

// Prefix is the string every key starts with.
func (k Keys) Prefix() string { return k.prefix }

func (k Keys) slot(partner string) string { return k.prefix + "{" + partner + "}:" }

// AgreementDoc is the HASH holding an agreement's protobuf bytes and version metadata.
func (k Keys) AgreementDoc(partner, id string) string { return k.slot(partner) + "agr:doc:" + id }

// AgreementsByDate is the ZSET of a partner's agreement ids scored by DateScore.
func (k Keys) AgreementsByDate(partner string) string { return k.slot(partner) + "agr:bydate" }

// AgreementDomainPrefix is the common prefix of a partner's per-domain ZSETs.
func (k Keys) AgreementDomainPrefix(partner string) string { return k.slot(partner) + "agr:domain:" }

// AgreementsByDomain is the ZSET of a partner's agreement ids in one domain (a DomainName).
func (k Keys) AgreementsByDomain(partner, domain string) string {
	return k.AgreementDomainPrefix(partner) + domain
}

// AgreementCounts is the HASH of a partner's counts: "<domain>|<year>",
// "all|<year>" (distinct agreements per year) and "total".
func (k Keys) AgreementCounts(partner string) string { return k.slot(partner) + "agr:counts" }

// Applied is the SET of event ids applied in a partner's slot (the idempotency marker).
func (k Keys) Applied(partner string) string { return k.slot(partner) + "applied" }

// TradeFigure is the HASH holding a trade figure's version metadata; its
// current bytes are a field of TradeCurrent, where one HMGET reads a whole
// series.
func (k Keys) TradeFigure(partner, id string) string { return k.slot(partner) + "trade:fig:" + id }

// TradeFigures is the ZSET of a partner's current trade figures of one
// flow, members "<SeriesKey>|<figure id>", scored by PeriodScore. A series
// of one flow ("how did turnover grow") reads only its flow's figures; a
// flow this build does not know shares the index "other".
func (k Keys) TradeFigures(partner string, f bilatv1.TradeFlow) string {
	return k.tradeFigures(partner, flowIndex(f))
}

// TradeFigureIndexes are all of a partner's TradeFigures keys, in the order
// of flowIndexes: what a series of every flow reads.
func (k Keys) TradeFigureIndexes(partner string) []string {
	out := make([]string, len(flowIndexes))
	for i, name := range flowIndexes {
		out[i] = k.tradeFigures(partner, name)
	}
	return out
}

func (k Keys) tradeFigures(partner, index string) string {
	return k.slot(partner) + "trade:figs:" + index
}

// flowIndexes names the figure indexes of a partner: one per flow this
// build knows (FlowName), then otherFlows.
var flowIndexes = func() []string {
	var out []string
	for v := range bilatv1.TradeFlow_name {
		out = append(out, FlowName(bilatv1.TradeFlow(v)))
	}
	slices.Sort(out)
	return append(out, otherFlows)
}()

// otherFlows is the figure index of flows this build does not know.
const otherFlows = "other"

// flowIndex names the figure index of flow f.
func flowIndex(f bilatv1.TradeFlow) string {
	if _, ok := bilatv1.TradeFlow_name[int32(f)]; ok {
		return FlowName(f)
	}
	return otherFlows
}

// TradeCurrent is the HASH of a partner's current trade figure versions:
// figure id -> "<revision>:<updated, Unix ns>:<protobuf bytes>".
func (k Keys) TradeCurrent(partner string) string { return k.slot(partner) + "trade:cur" }

// AllAgreements is the global ZSET of every agreement id scored by DateScore.
func (k Keys) AllAgreements() string { return k.prefix + "idx:agr:all" }

// AllAgreementsByDomain is the global ZSET of agreement ids in one domain.
func (k Keys) AllAgreementsByDomain(domain string) string {
	return k.prefix + "idx:agr:domain:" + domain
}

// AgreementLocation is the STRING holding the partner code an agreement id is stored under.
func (k Keys) AgreementLocation(id string) string { return k.prefix + "idx:agr:loc:" + id }

// TradeLocation is the STRING holding the partner code a trade figure id is stored under.
func (k Keys) TradeLocation(id string) string { return k.prefix + "idx:trade:loc:" + id }

// Partners is the SET of every partner code that has received a record.
func (k Keys) Partners() string { return k.prefix + "idx:partners" }

// PartnerCode is the code records of ref are stored under: the resolved
// entity code, or Unresolved.
func PartnerCode(ref *bilatv1.EntityRef) string {
	if ref == nil || ref.GetCode() == "" {
		return Unresolved
	}
	return ref.GetCode()
}

// validCode reports whether an entity code is safe inside keys and members:
// the gazetteer's codes are ASCII letters, digits, '.', '_' and '-'.
func validCode(code string) bool {
	if code == "" || len(code) > 128 {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// validID reports whether a record id can be used in keys: non-empty,
// bounded, printable ASCII without spaces.
func validID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

// DomainName is the lower-case key form of a domain ("science_technology");
// values outside the enum keep their number so nothing is merged.
func DomainName(d bilatv1.Domain) string {
	if _, ok := bilatv1.Domain_name[int32(d)]; ok {
		return strings.ToLower(strings.TrimPrefix(d.String(), "DOMAIN_"))
	}
	return strconv.Itoa(int(d))
}

// ParseDomain is the inverse of DomainName.
func ParseDomain(name string) (bilatv1.Domain, bool) {
	if v, ok := bilatv1.Domain_value["DOMAIN_"+strings.ToUpper(name)]; ok {
		return bilatv1.Domain(v), true
	}
	n, err := strconv.Atoi(name)
	if err != nil {
		return 0, false
	}
	return bilatv1.Domain(n), true
}

// domainNames is the sorted, de-duplicated key form of an agreement's domains;
// DOMAIN_UNSPECIFIED is not a domain and is left out.
func domainNames(ds []bilatv1.Domain) []string {
	seen := make(map[bilatv1.Domain]bool, len(ds))
	var out []string
	for _, d := range ds {
		if d == bilatv1.Domain_DOMAIN_UNSPECIFIED || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, DomainName(d))
	}
	slices.Sort(out)
	return out
}

// DateScore orders partial dates: year*10000 + month*100 + day, so a
// year-only date sorts before the dated ones of its year; undated is 0.
func DateScore(d *bilatv1.PartialDate) int64 {
	if d == nil || d.GetYear() <= 0 {
		return 0
	}
	return int64(d.GetYear())*10000 + int64(clamp(d.GetMonth(), 12))*100 + int64(clamp(d.GetDay(), 31))
}

// PeriodScore orders periods: year*10000 + first_month*100 + last_month, so
// the whole year sorts before its month ranges.
func PeriodScore(p *bilatv1.Period) int64 {
	if p == nil || p.GetYear() <= 0 {
		return 0
	}
	return int64(p.GetYear())*10000 + int64(clamp(p.GetFirstMonth(), 12))*100 + int64(clamp(p.GetLastMonth(), 12))
}

func clamp(v, hi int32) int32 {
	if v < 0 {
		return 0
	}
	if v > hi {
		return hi
	}
	return v
}

// PeriodKey is the key form of a period: "2018" for a year, "2018-01..07" for
// a month range.
func PeriodKey(p *bilatv1.Period) string {
	y := p.GetYear()
	if y < 0 {
		y = 0
	}
	if p.GetFirstMonth() == 0 && p.GetLastMonth() == 0 {
		return fmt.Sprintf("%04d", y)
	}
	return fmt.Sprintf("%04d-%02d..%02d", y, clamp(p.GetFirstMonth(), 12), clamp(p.GetLastMonth(), 12))
}

// FlowName is the key form of a trade flow ("turnover"; "unspecified" for 0).
func FlowName(f bilatv1.TradeFlow) string {
	if _, ok := bilatv1.TradeFlow_name[int32(f)]; ok {
		return strings.ToLower(strings.TrimPrefix(f.String(), "TRADE_FLOW_"))
	}
	return strconv.Itoa(int(f))
}

// ParseFlow is the inverse of FlowName.
func ParseFlow(name string) (bilatv1.TradeFlow, bool) {
	if v, ok := flowByName[name]; ok {
		return v, true // the key form, without the allocations below
	}
	if v, ok := bilatv1.TradeFlow_value["TRADE_FLOW_"+strings.ToUpper(name)]; ok {
		return bilatv1.TradeFlow(v), true
	}
	n, err := strconv.Atoi(name)
	if err != nil {
		return 0, false
	}
	return bilatv1.TradeFlow(n), true
}

// ScopeName is the key form of a trade scope ("goods"; "unspecified" for 0).
func ScopeName(s bilatv1.TradeScope) string {
	if _, ok := bilatv1.TradeScope_name[int32(s)]; ok {
		return strings.ToLower(strings.TrimPrefix(s.String(), "TRADE_SCOPE_"))
	}
	return strconv.Itoa(int(s))
}

// ParseScope is the inverse of ScopeName.
func ParseScope(name string) (bilatv1.TradeScope, bool) {
	if v, ok := scopeByName[name]; ok {
		return v, true
	}
	if v, ok := bilatv1.TradeScope_value["TRADE_SCOPE_"+strings.ToUpper(name)]; ok {
		return bilatv1.TradeScope(v), true
	}
	n, err := strconv.Atoi(name)
	if err != nil {
		return 0, false
	}
	return bilatv1.TradeScope(n), true
}

// SeriesKey groups the figures stated for the same thing:
// "<reporter>|<period key>|<flow>|<scope>".
func SeriesKey(reporter string, p *bilatv1.Period, f bilatv1.TradeFlow, s bilatv1.TradeScope) string {
	return reporter + "|" + PeriodKey(p) + "|" + FlowName(f) + "|" + ScopeName(s)
}

// seriesParts is a parsed SeriesKey.
type seriesParts struct {
	reporter string
	flow     bilatv1.TradeFlow
	scope    bilatv1.TradeScope
}

func parseSeriesKey(key string) (seriesParts, bool) {
	reporter, rest, ok1 := strings.Cut(key, "|")
	_, rest, ok2 := strings.Cut(rest, "|") // the period: TradePoint takes it from the figures
	flow, scope, ok3 := strings.Cut(rest, "|")
	if !ok1 || !ok2 || !ok3 || strings.Contains(scope, "|") {
		return seriesParts{}, false
	}
	f, ok1 := ParseFlow(flow)
	s, ok2 := ParseScope(scope)
	if !ok1 || !ok2 {
		return seriesParts{}, false
	}
	return seriesParts{reporter: reporter, flow: f, scope: s}, true
}

// figureMember is a figure's member of TradeFigures.
func figureMember(series, id string) string { return series + "|" + id }

// parseFigureMember splits a TradeFigures member into its series key, the
// key's parts and the figure id (which may itself contain "|").
func parseFigureMember(m string) (series string, parts seriesParts, id string, ok bool) {
	n := 0
	for i := 0; i < len(m); i++ {
		if m[i] != '|' {
			continue
		}
		if n++; n == 4 {
			series, id = m[:i], m[i+1:]
			break
		}
	}
	if id == "" {
		return "", seriesParts{}, "", false
	}
	parts, ok = parseSeriesKey(series)
	return series, parts, id, ok
}

// flowByName and scopeByName map the key forms (FlowName, ScopeName) to
// their values.
var (
	flowByName  = keyForms(bilatv1.TradeFlow_value, "TRADE_FLOW_", func(v int32) bilatv1.TradeFlow { return bilatv1.TradeFlow(v) })
	scopeByName = keyForms(bilatv1.TradeScope_value, "TRADE_SCOPE_", func(v int32) bilatv1.TradeScope { return bilatv1.TradeScope(v) })
)

func keyForms[E any](values map[string]int32, prefix string, conv func(int32) E) map[string]E {
	out := make(map[string]E, len(values))
	for name, v := range values {
		out[strings.ToLower(strings.TrimPrefix(name, prefix))] = conv(v)
	}
	return out
}
