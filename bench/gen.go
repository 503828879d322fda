package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// partner is one resolvable partner: the name publishers send and the code
// enrichment resolves it to.
type partner struct{ name, code string }

// gazetteer is the bench's entity list: the real gazetteer plus, when it has
// fewer unambiguous partner-side countries and regions than asked for,
// synthetic regions so the load spreads over that many partners. It is
// written to a file for enrichment.
type gazetteer struct {
	path      string
	partners  []partner // partner-side countries and regions, used as partners
	home      []string  // names of home-side organisations, used as extra parties
	synthetic int
}

func buildGazetteer(src, dir string, want int) (*gazetteer, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("read gazetteer: %w", err)
	}
	g := &gazetteer{path: filepath.Join(dir, "entities.ndjson")}
	var out bytes.Buffer
	var all []*bilatv1.Entity
	names := map[string]int{} // how many entities a name or alias may mean
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		e := &bilatv1.Entity{}
		if err := protojson.Unmarshal(line, e); err != nil {
			return nil, fmt.Errorf("gazetteer line: %w", err)
		}
		out.Write(line)
		out.WriteByte('\n')
		all = append(all, e)
		seen := map[string]bool{}
		for _, n := range append([]string{e.GetName()}, e.GetAliases()...) {
			if k := strings.ToLower(n); !seen[k] {
				seen[k] = true
				names[k]++
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read gazetteer: %w", err)
	}
	// Partners are partner-side countries, then regions, whose name means
	// one entity only, so every event resolves; the first want of them.
	for _, kind := range []bilatv1.EntityKind{bilatv1.EntityKind_ENTITY_KIND_COUNTRY, bilatv1.EntityKind_ENTITY_KIND_REGION} {
		for _, e := range all {
			if len(g.partners) < want && e.GetKind() == kind && e.GetSide() != "home" && names[strings.ToLower(e.GetName())] == 1 {
				g.partners = append(g.partners, partner{name: e.GetName(), code: e.GetCode()})
			}
		}
	}
	for _, e := range all {
		if e.GetSide() == "home" && e.GetKind() == bilatv1.EntityKind_ENTITY_KIND_ORGANISATION && names[strings.ToLower(e.GetName())] == 1 {
			g.home = append(g.home, e.GetName())
		}
	}
	for i := 1; len(g.partners) < want; i++ {
		e := &bilatv1.Entity{
			Code: fmt.Sprintf("XB-R%03d", i), Kind: bilatv1.EntityKind_ENTITY_KIND_REGION,
			Name: fmt.Sprintf("Benchland Region %03d", i), Country: "XB", Side: "partner",
		}
		e.Aliases = []string{e.Name}
		line, err := protojson.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("synthetic entity: %w", err)
		}
		out.Write(line)
		out.WriteByte('\n')
		g.partners = append(g.partners, partner{name: e.Name, code: e.Code})
		g.synthetic++
	}
	if err := os.WriteFile(g.path, out.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write bench gazetteer: %w", err)
	}
	return g, nil
}

// commonDomains are the domains most agreements carry; drawing most domains
// from them keeps partner+domain pages of the query phase populated, as in
// the book's data.
var commonDomains = []bilatv1.Domain{
	bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_ECONOMIC, bilatv1.Domain_DOMAIN_EDUCATION,
	bilatv1.Domain_DOMAIN_CULTURE, bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY, bilatv1.Domain_DOMAIN_INDUSTRY,
}

var agreementKinds = []bilatv1.AgreementKind{
	bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT, bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM,
	bilatv1.AgreementKind_AGREEMENT_KIND_PROTOCOL, bilatv1.AgreementKind_AGREEMENT_KIND_PROGRAMME,
	bilatv1.AgreementKind_AGREEMENT_KIND_TREATY, bilatv1.AgreementKind_AGREEMENT_KIND_ROADMAP,
}

// generator makes the realistic mix: 80 % agreements with 2–4 parties and
// 1–3 domains, 20 % trade figures, each with a partner drawn at random.
type generator struct {
	run   string // unique per run, so ids never collide with earlier runs
	g     *gazetteer
	codes map[string]string // name -> code, as enrichment resolves them
}

func newGenerator(run string, g *gazetteer) *generator {
	gen := &generator{run: run, g: g, codes: map[string]string{"Belarus": "BY"}}
	for _, p := range g.partners {
		gen.codes[p.name] = p.code
	}
	return gen
}

// event is one generated record, ready for either door.
type event struct {
	agreement *bilatv1.Agreement
	figure    *bilatv1.TradeFigure
	key       string // publisher idempotency key
}

func (e event) id() string {
	if e.agreement != nil {
		return e.agreement.GetId()
	}
	return e.figure.GetId()
}

func (gen *generator) rng(i int) *rand.Rand { return rand.New(rand.NewPCG(uint64(i), 0x6269_6c61_74)) }

// event returns the i-th event of a named series (phase), deterministic in i.
func (gen *generator) event(series string, i int) event {
	r := gen.rng(i)
	p := gen.g.partners[r.IntN(len(gen.g.partners))]
	id := fmt.Sprintf("%s-%s-%07d", gen.run, series, i)
	if i%5 == 4 {
		return event{figure: gen.figure(r, id, p, i), key: id}
	}
	return event{agreement: gen.agreement(r, id, p), key: id}
}

func (gen *generator) agreement(r *rand.Rand, id string, p partner) *bilatv1.Agreement {
	nd := 1 + r.IntN(3)
	var domains []bilatv1.Domain
	seen := map[bilatv1.Domain]bool{}
	for len(domains) < nd {
		var d bilatv1.Domain
		if r.IntN(4) == 0 {
			d = bilatv1.Domain(1 + r.IntN(26))
		} else {
			d = commonDomains[r.IntN(len(commonDomains))]
		}
		if !seen[d] {
			seen[d] = true
			domains = append(domains, d)
		}
	}
	ref := func(name string) *bilatv1.EntityRef { return &bilatv1.EntityRef{Name: name} }
	parties := []*bilatv1.Party{
		{Entity: ref("Belarus"), Level: bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT, Country: "BY"},
		{Entity: ref(p.name), Level: bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT},
	}
	for extra := r.IntN(3); extra > 0 && len(gen.g.home) > 0; extra-- {
		parties = append(parties, &bilatv1.Party{Entity: &bilatv1.EntityRef{Name: gen.g.home[r.IntN(len(gen.g.home))]}, Level: bilatv1.PartyLevel_PARTY_LEVEL_MINISTRY})
	}
	names := make([]string, len(domains))
	for i, d := range domains {
		names[i] = strings.ToLower(strings.TrimPrefix(d.String(), "DOMAIN_"))
	}
	year := int32(1992 + r.IntN(34))
	return &bilatv1.Agreement{
		Id:       id,
		Title:    fmt.Sprintf("Agreement between the Government of the Republic of Belarus and %s on cooperation in %s", p.name, strings.Join(names, ", ")),
		Kind:     agreementKinds[r.IntN(len(agreementKinds))],
		Parties:  parties,
		Partner:  ref(p.name),
		SignedOn: &bilatv1.PartialDate{Year: year, Month: int32(1 + r.IntN(12)), Day: int32(1 + r.IntN(28))},
		Place:    "Minsk",
		Domains:  domains,
		Status:   bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
		Sources: []*bilatv1.Source{{
			Url: "https://mfa.gov.by/en/bilateral/" + id, Publisher: "Ministry of Foreign Affairs of Belarus",
			Published: &bilatv1.PartialDate{Year: year},
		}},
	}
}

var flows = []bilatv1.TradeFlow{bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, bilatv1.TradeFlow_TRADE_FLOW_EXPORTS, bilatv1.TradeFlow_TRADE_FLOW_IMPORTS}

func (gen *generator) figure(r *rand.Rand, id string, p partner, i int) *bilatv1.TradeFigure {
	year := int32(1995 + (i/len(gen.g.partners))%31)
	return &bilatv1.TradeFigure{
		Id:       id,
		Reporter: &bilatv1.EntityRef{Name: "Belarus"},
		Partner:  &bilatv1.EntityRef{Name: p.name},
		Period:   &bilatv1.Period{Year: year},
		Flow:     flows[r.IntN(len(flows))],
		Scope:    bilatv1.TradeScope_TRADE_SCOPE_GOODS,
		Value:    &bilatv1.Money{Currency: "USD", Units: int64(1_000_000 + r.IntN(900_000_000))},
		Sources: []*bilatv1.Source{{
			Url: "https://www.belstat.gov.by/en/trade/" + id, Publisher: "Belstat",
			Published: &bilatv1.PartialDate{Year: year + 1},
		}},
	}
}

// resolved is ev as enrichment would leave it: partner (and reporter) codes
// set, for the writes that bypass the pipeline (baseline, seeding).
func (gen *generator) resolved(ev event) event {
	res := func(r *bilatv1.EntityRef) {
		if c, ok := gen.codes[r.GetName()]; ok {
			r.Code, r.CanonicalName, r.Resolution, r.Confidence = c, r.GetName(), bilatv1.Resolution_RESOLUTION_RESOLVED, 1
		}
	}
	if ev.agreement != nil {
		res(ev.agreement.GetPartner())
		for _, p := range ev.agreement.GetParties() {
			res(p.GetEntity())
		}
	} else {
		res(ev.figure.GetPartner())
		res(ev.figure.GetReporter())
	}
	return ev
}

// seedAgreement is the i-th agreement of the query store, resolved.
func (gen *generator) seedAgreement(i int) *bilatv1.Agreement {
	p := gen.g.partners[i%len(gen.g.partners)]
	ev := gen.resolved(event{agreement: gen.agreement(gen.rng(i), gen.seedID(i), p)})
	return ev.agreement
}

func (gen *generator) seedID(i int) string { return fmt.Sprintf("%s-store-%07d", gen.run, i) }
