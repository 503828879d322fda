package main

import (
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// The book itself, cited on every record next to the footnote it gives.
const (
	bookPublisher = "Scienia Scripts"
	bookTitle     = "Boris Zaleski, In order to maintain stability (ISBN 978-620-4-87999-4)"
	bookYear      = 2022
)

// intendedUnresolved are party names the book writes for unnamed or collective
// signatories, or for one side of a joint body. They stay unresolved on
// purpose: no gazetteer entity stands for them, and enrichment keeps them as
// written.
var intendedUnresolved = []string{
	"Russian regions",
	"Intergovernmental Belarusian-Georgian Commission for Economic Cooperation (Belarusian side)",
	"Intergovernmental Belarusian-Georgian Commission for Economic Cooperation (Georgian side)",
	"Belarusian-Georgian commission for scientific and technical cooperation (Belarusian side)",
	"Belarusian-Georgian commission for scientific and technical cooperation (Georgian side)",
	"Belarusian companies (unnamed)",
	"Georgian companies (unnamed)",
	"Minsk enterprises",
	"Georgian partners",
	"Belarusian exhibitors (unnamed)",
	"Georgian buyers (unnamed)",
	"Belarusian higher education institutions",
	"Chinese higher education institutions",
	"Belarusian companies",
	"Afghan companies",
	"Tajik companies",
	"Belarusian side (tractor assembly plant in Gissar)",
	"the Afghan side",
}

// bookNames maps the book's partner and reporter strings that are not an
// entity's name (with an optional " (Country)" suffix) to a canonical name.
var bookNames = map[string]string{
	"CIS members": "Commonwealth of Independent States",
	"Minsk city":  "Minsk",
}

var reSuffix = regexp.MustCompile(`^(.*) \(([^()]+)\)$`)

// partnerName maps a book partner/reporter string ("Stavropol Krai (Russia)",
// "Belarus (domestic)") to the canonical name of its gazetteer entity. When
// the suffix names a country, the entity must belong to it.
func (g *gazetteer) partnerName(s string) (string, error) {
	if c, ok := bookNames[s]; ok {
		s = c
	}
	if e, ok := g.resolve(s); ok {
		return e.Name, nil
	}
	m := reSuffix.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("%q matches no gazetteer entity", s)
	}
	e, ok := g.resolve(m[1])
	if !ok {
		return "", fmt.Errorf("%q matches no gazetteer entity", s)
	}
	if c, ok := g.resolve(m[2]); ok && c.Kind == bilatv1.EntityKind_ENTITY_KIND_COUNTRY && c.Code != e.Country {
		return "", fmt.Errorf("%q: %s is not in %s", s, e.Code, c.Code)
	}
	return e.Name, nil
}

var agreementKinds = map[string]bilatv1.AgreementKind{
	"treaty":      bilatv1.AgreementKind_AGREEMENT_KIND_TREATY,
	"agreement":   bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT,
	"convention":  bilatv1.AgreementKind_AGREEMENT_KIND_CONVENTION,
	"memorandum":  bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM,
	"programme":   bilatv1.AgreementKind_AGREEMENT_KIND_PROGRAMME,
	"roadmap":     bilatv1.AgreementKind_AGREEMENT_KIND_ROADMAP,
	"action_plan": bilatv1.AgreementKind_AGREEMENT_KIND_ACTION_PLAN,
	"contract":    bilatv1.AgreementKind_AGREEMENT_KIND_CONTRACT,
	"protocol":    bilatv1.AgreementKind_AGREEMENT_KIND_PROTOCOL,
	"concept":     bilatv1.AgreementKind_AGREEMENT_KIND_CONCEPT,
	"other":       bilatv1.AgreementKind_AGREEMENT_KIND_OTHER,
}

// otherKinds are book kinds without an AgreementKind of their own; they
// become OTHER with the book's word as subkind.
var otherKinds = map[string]bool{"regulation": true, "treaty_of_intent": true, "strategy": true}

var partyLevels = map[string]bilatv1.PartyLevel{
	"state":       bilatv1.PartyLevel_PARTY_LEVEL_STATE,
	"government":  bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT,
	"ministry":    bilatv1.PartyLevel_PARTY_LEVEL_MINISTRY,
	"agency":      bilatv1.PartyLevel_PARTY_LEVEL_AGENCY,
	"region":      bilatv1.PartyLevel_PARTY_LEVEL_REGION,
	"city":        bilatv1.PartyLevel_PARTY_LEVEL_CITY,
	"enterprise":  bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE,
	"university":  bilatv1.PartyLevel_PARTY_LEVEL_UNIVERSITY,
	"academy":     bilatv1.PartyLevel_PARTY_LEVEL_ACADEMY,
	"chamber":     bilatv1.PartyLevel_PARTY_LEVEL_CHAMBER,
	"association": bilatv1.PartyLevel_PARTY_LEVEL_ASSOCIATION,
	"bloc":        bilatv1.PartyLevel_PARTY_LEVEL_BLOC,
	"other":       bilatv1.PartyLevel_PARTY_LEVEL_OTHER,
}

var statuses = map[string]bilatv1.AgreementStatus{
	"planned":        bilatv1.AgreementStatus_AGREEMENT_STATUS_PLANNED,
	"in_preparation": bilatv1.AgreementStatus_AGREEMENT_STATUS_IN_PREPARATION,
	"signed":         bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
	"in_force":       bilatv1.AgreementStatus_AGREEMENT_STATUS_IN_FORCE,
	"suspended":      bilatv1.AgreementStatus_AGREEMENT_STATUS_SUSPENDED,
	"terminated":     bilatv1.AgreementStatus_AGREEMENT_STATUS_TERMINATED,
	"adopted":        bilatv1.AgreementStatus_AGREEMENT_STATUS_ADOPTED,
}

func domain(s string) (bilatv1.Domain, error) {
	v, ok := bilatv1.Domain_value["DOMAIN_"+strings.ToUpper(s)]
	if !ok || v == 0 {
		return 0, fmt.Errorf("unknown domain %q", s)
	}
	return bilatv1.Domain(v), nil
}

// sources cites the footnote (URL and year from the row, else from
// footnotes.json) and the book chapter the fact is in.
func sources(src bookSource, chapter string, fns map[string]bookFootnote) ([]*bilatv1.Source, error) {
	var out []*bilatv1.Source
	if src.Footnote != "" {
		fn, ok := fns[src.Footnote]
		if !ok {
			return nil, fmt.Errorf("footnote %s is not in footnotes.json", src.Footnote)
		}
		s := &bilatv1.Source{Url: src.URL, Reference: "footnote " + src.Footnote}
		if s.Url == "" && fn.URL != nil {
			s.Url = *fn.URL
		}
		year := src.Published
		if year == 0 && fn.Year != nil {
			year = *fn.Year
		}
		if year != 0 {
			s.Published = &bilatv1.PartialDate{Year: year}
		}
		out = append(out, s)
	}
	if src.BookChapter != "" && src.BookChapter != chapter {
		return nil, fmt.Errorf("source chapter %q differs from row chapter %q", src.BookChapter, chapter)
	}
	out = append(out, &bilatv1.Source{
		Publisher: bookPublisher,
		Published: &bilatv1.PartialDate{Year: bookYear},
		Reference: fmt.Sprintf("%s, chapter %q", bookTitle, chapter),
	})
	return out, nil
}

type attrs map[string]string

func (a attrs) set(k, v string) {
	if v != "" {
		a[k] = v
	}
}

func (a attrs) flag(k string, v bool) { a[k] = strconv.FormatBool(v) }

func convertAgreement(r bookAgreement, g *gazetteer, fns map[string]bookFootnote) (*bilatv1.Agreement, error) {
	a := &bilatv1.Agreement{Id: r.ID, Title: r.Title, Place: r.Place, Note: r.Note, ValueApproximate: r.ValueApprox}
	at := attrs{}
	at.set("book_kind", r.Kind)
	at.set("book_subkind", r.Subkind)
	at.set("book_status", r.Status)
	at.set("book_partner", r.Partner)
	at.set("partner_country", r.PartnerCountry)
	at.set("chapter", r.Chapter)
	at.set("context_date", r.ContextDate)
	at.set("footnote", r.Footnote)
	at.flag("document_named", r.DocumentNamed)
	at.flag("aggregate", r.Aggregate)
	if r.Count != nil {
		at.set("count", r.Count.String())
		at.flag("count_approx", r.CountApprox)
	} else if r.CountApprox {
		return nil, fmt.Errorf("count_approx without a count")
	}
	a.Attributes = at

	switch k, ok := agreementKinds[r.Kind]; {
	case ok && k == bilatv1.AgreementKind_AGREEMENT_KIND_OTHER:
		a.Kind, a.Subkind = k, r.Subkind
	case ok:
		a.Kind = k
	case otherKinds[r.Kind]:
		a.Kind, a.Subkind = bilatv1.AgreementKind_AGREEMENT_KIND_OTHER, r.Kind
	default:
		return nil, fmt.Errorf("unknown kind %q", r.Kind)
	}
	st, ok := statuses[r.Status]
	if !ok {
		return nil, fmt.Errorf("unknown status %q", r.Status)
	}
	a.Status = st

	var err error
	if a.SignedOn, err = parsePartialDate(r.Signed); err != nil {
		return nil, fmt.Errorf("signed: %w", err)
	}
	if a.InForceOn, err = parsePartialDate(r.InForceDate); err != nil {
		return nil, fmt.Errorf("in_force_date: %w", err)
	}
	if _, err := parsePartialDate(r.ContextDate); err != nil {
		return nil, fmt.Errorf("context_date: %w", err)
	}
	for _, p := range r.Parties {
		lvl, ok := partyLevels[p.Level]
		if !ok {
			return nil, fmt.Errorf("party %q: unknown level %q", p.Name, p.Level)
		}
		if _, ok := g.resolve(p.Name); !ok && !isIntendedUnresolved(p.Name) {
			return nil, fmt.Errorf("party %q matches no gazetteer entity and is not listed as intentionally unresolved", p.Name)
		}
		a.Parties = append(a.Parties, &bilatv1.Party{Entity: &bilatv1.EntityRef{Name: p.Name}, Level: lvl, Country: p.Country})
	}
	partner, err := g.partnerName(r.Partner)
	if err != nil {
		return nil, fmt.Errorf("partner: %w", err)
	}
	a.Partner = &bilatv1.EntityRef{Name: partner}
	for _, d := range r.Domains {
		v, err := domain(d)
		if err != nil {
			return nil, err
		}
		a.Domains = append(a.Domains, v)
	}
	if r.ValueUSD != nil {
		if a.Value, err = money(*r.ValueUSD, "USD"); err != nil {
			return nil, fmt.Errorf("value_usd: %w", err)
		}
	} else if r.ValueApprox {
		return nil, fmt.Errorf("value_approx without a value")
	}
	if a.Sources, err = sources(r.Source, r.Chapter, fns); err != nil {
		return nil, err
	}
	return a, nil
}

func isIntendedUnresolved(name string) bool {
	for _, n := range intendedUnresolved {
		if n == name {
			return true
		}
	}
	return false
}

// tradeFlows are the book flows that are trade figures. The book's one
// transport_services row quotes "the volume of foreign trade in transport
// services ... to $16.4 million": foreign trade is exports plus imports, so
// it is turnover with the transport-services scope.
var tradeFlows = map[string]struct {
	flow  bilatv1.TradeFlow
	scope bilatv1.TradeScope // unspecified: take the book's scope
}{
	"turnover":           {bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, 0},
	"exports":            {bilatv1.TradeFlow_TRADE_FLOW_EXPORTS, 0},
	"imports":            {bilatv1.TradeFlow_TRADE_FLOW_IMPORTS, 0},
	"balance":            {bilatv1.TradeFlow_TRADE_FLOW_BALANCE, 0},
	"transport_services": {bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, bilatv1.TradeScope_TRADE_SCOPE_TRANSPORT_SERVICES},
}

var tradeScopes = map[string]bilatv1.TradeScope{
	"unspecified":        bilatv1.TradeScope_TRADE_SCOPE_UNSPECIFIED,
	"goods":              bilatv1.TradeScope_TRADE_SCOPE_GOODS,
	"services":           bilatv1.TradeScope_TRADE_SCOPE_SERVICES,
	"goods_and_services": bilatv1.TradeScope_TRADE_SCOPE_GOODS_AND_SERVICES,
	"transport_services": bilatv1.TradeScope_TRADE_SCOPE_TRANSPORT_SERVICES,
}

// notLoaded says why a book trade row is no bilat.v1.TradeFigure.
type notLoaded struct{ reason string }

func (n *notLoaded) Error() string { return n.reason }

func skip(format string, args ...any) error { return &notLoaded{fmt.Sprintf(format, args...)} }

// convertTrade returns a *notLoaded error for rows that are not trade
// figures and a plain error for rows that are broken.
func convertTrade(r bookTrade, g *gazetteer, fns map[string]bookFootnote) (*bilatv1.TradeFigure, error) {
	fl, ok := tradeFlows[r.Flow]
	if !ok {
		var why []string
		switch r.Flow {
		case "investment":
			why = append(why, "investment, not a trade flow")
		case "shipments_tonnes":
			why = append(why, "physical shipments, not a trade flow")
		case "other":
			why = append(why, fmt.Sprintf("%q is not a trade flow", r.Metric))
		default:
			return nil, fmt.Errorf("unknown flow %q", r.Flow)
		}
		if r.Currency == "" {
			why = append(why, fmt.Sprintf("measured in %s, not money", r.Unit))
		}
		if _, err := parsePeriod(r.Period); err != nil {
			why = append(why, err.Error())
		}
		return nil, skip("%s", strings.Join(why, "; "))
	}
	if r.ValueAbs == nil {
		return nil, skip("no value stated (growth only)")
	}
	period, err := parsePeriod(r.Period)
	if err != nil {
		return nil, skip("%v", err)
	}
	scope, ok := tradeScopes[r.Scope]
	if !ok {
		return nil, fmt.Errorf("unknown scope %q", r.Scope)
	}
	if fl.scope != 0 {
		scope = fl.scope
	}
	f := &bilatv1.TradeFigure{Id: r.ID, Period: period, Flow: fl.flow, Scope: scope, IsTarget: r.Target, Note: r.Note}
	if f.Value, err = money(*r.ValueAbs, r.Currency); err != nil {
		return nil, fmt.Errorf("value_abs: %w", err)
	}
	if err := checkStatedValue(r); err != nil {
		return nil, err
	}
	if r.ApproxKind != "" {
		f.Approximate, f.Approximation = true, strings.ReplaceAll(r.ApproxKind, "_", " ")
	} else if r.Approx {
		f.Approximate = true
	}
	if r.GrowthPct != nil {
		v, err := r.GrowthPct.Float64()
		if err != nil {
			return nil, fmt.Errorf("growth_pct: %w", err)
		}
		f.StatedGrowthPct = &v
		if r.GrowthBase != "" {
			if f.GrowthBase, err = parsePeriod(r.GrowthBase); err != nil {
				return nil, fmt.Errorf("growth_base: %w", err)
			}
		}
	}
	rep, err := g.partnerName(r.Reporter)
	if err != nil {
		return nil, fmt.Errorf("reporter: %w", err)
	}
	par, err := g.partnerName(r.Partner)
	if err != nil {
		return nil, fmt.Errorf("partner: %w", err)
	}
	f.Reporter, f.Partner = &bilatv1.EntityRef{Name: rep}, &bilatv1.EntityRef{Name: par}
	at := attrs{}
	at.set("book_reporter", r.Reporter)
	at.set("book_partner", r.Partner)
	at.set("partner_country", r.PartnerCountry)
	at.set("book_flow", r.Flow)
	at.set("book_scope", r.Scope)
	at.set("book_period", r.Period)
	at.set("metric", r.Metric)
	at.set("unit", r.Unit)
	if r.Value != nil {
		at.set("stated_value", r.Value.String())
	}
	at.set("unit_multiplier", r.UnitMultiplier.String())
	at.set("approx_kind", r.ApproxKind)
	if r.GrowthPct != nil {
		at.flag("growth_approx", r.GrowthApprox)
	}
	at.set("growth_base", r.GrowthBase)
	at.flag("planned", r.Planned)
	at.flag("cumulative", r.Cumulative)
	at.set("footnote", r.Footnote)
	at.set("chapter", r.Chapter)
	f.Attributes = at
	if f.Sources, err = sources(r.Source, r.Chapter, fns); err != nil {
		return nil, err
	}
	return f, nil
}

// checkStatedValue guards against a drifted value_abs: it must equal the
// stated value times the unit multiplier.
func checkStatedValue(r bookTrade) error {
	if r.Value == nil {
		return fmt.Errorf("value_abs without a stated value")
	}
	v, ok1 := new(big.Rat).SetString(r.Value.String())
	m, ok2 := new(big.Rat).SetString(r.UnitMultiplier.String())
	abs, ok3 := new(big.Rat).SetString(r.ValueAbs.String())
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("value %v × unit_multiplier %v: not numbers", r.Value, r.UnitMultiplier)
	}
	if v.Mul(v, m).Cmp(abs) != 0 {
		return fmt.Errorf("value %v × %v ≠ value_abs %v", r.Value, r.UnitMultiplier, r.ValueAbs)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
