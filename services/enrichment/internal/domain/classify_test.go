package domain

import (
	"encoding/json"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestInferLevel(t *testing.T) {
	g := bookGazetteer(t)
	for _, c := range []struct {
		name string
		want bilatv1.PartyLevel
	}{
		{"Republic of Belarus", bilatv1.PartyLevel_PARTY_LEVEL_STATE},
		{"Грузия", bilatv1.PartyLevel_PARTY_LEVEL_STATE},
		{"President of Kazakhstan", bilatv1.PartyLevel_PARTY_LEVEL_STATE},
		{"Government of the Republic of Belarus", bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT},
		{"Правительство Республики Казахстан", bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT},
		{"Government of Stavropol Krai", bilatv1.PartyLevel_PARTY_LEVEL_REGION}, // a region's government signs as the region
		{"Правительство Ставропольского края", bilatv1.PartyLevel_PARTY_LEVEL_REGION},
		{"Ministry of Health of Georgia", bilatv1.PartyLevel_PARTY_LEVEL_MINISTRY},
		{"Министерство культуры Армении", bilatv1.PartyLevel_PARTY_LEVEL_MINISTRY},
		{"Chechen Ministry of Agriculture", bilatv1.PartyLevel_PARTY_LEVEL_MINISTRY},
		{"State Customs Committee of Belarus", bilatv1.PartyLevel_PARTY_LEVEL_AGENCY},
		{"Агентство по развитию предпринимательства", bilatv1.PartyLevel_PARTY_LEVEL_AGENCY},
		{"Mogilev Regional Executive Committee", bilatv1.PartyLevel_PARTY_LEVEL_REGION},
		{"Гомельский облисполком", bilatv1.PartyLevel_PARTY_LEVEL_REGION},
		{"Minsk City Executive Committee", bilatv1.PartyLevel_PARTY_LEVEL_CITY},
		{"Минский горисполком", bilatv1.PartyLevel_PARTY_LEVEL_CITY},
		{"Tbilisi", bilatv1.PartyLevel_PARTY_LEVEL_CITY},
		{"Stavropol Krai", bilatv1.PartyLevel_PARTY_LEVEL_REGION},
		{"OJSC Minsk Tractor Works", bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE},
		{"ООО «Агротехника»", bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE},
		{"Минский автомобильный завод", bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE},
		{"Belshina", bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE}, // no words: the entity's category
		{"Belarusian State University", bilatv1.PartyLevel_PARTY_LEVEL_UNIVERSITY},
		{"Тбилисский государственный университет", bilatv1.PartyLevel_PARTY_LEVEL_UNIVERSITY},
		{"University of Civil Defense of the Ministry of Emergency Situations of Belarus", bilatv1.PartyLevel_PARTY_LEVEL_UNIVERSITY},
		{"NAS of Belarus", bilatv1.PartyLevel_PARTY_LEVEL_ACADEMY},
		{"Академия наук провинции Шаньдун", bilatv1.PartyLevel_PARTY_LEVEL_ACADEMY},
		{"Belarusian Chamber of Commerce and Industry", bilatv1.PartyLevel_PARTY_LEVEL_CHAMBER},
		{"Торгово-промышленная палата Грузии", bilatv1.PartyLevel_PARTY_LEVEL_CHAMBER},
		{"Ассоциация деловых кругов Грузии", bilatv1.PartyLevel_PARTY_LEVEL_ASSOCIATION},
		{"CIS Member States", bilatv1.PartyLevel_PARTY_LEVEL_BLOC},
		{"Евразийская экономическая комиссия", bilatv1.PartyLevel_PARTY_LEVEL_BLOC},
		{"Standing Committee of the Union State", bilatv1.PartyLevel_PARTY_LEVEL_BLOC},
		{"Georgian partners", bilatv1.PartyLevel_PARTY_LEVEL_OTHER},
		{"", bilatv1.PartyLevel_PARTY_LEVEL_UNSPECIFIED},
	} {
		ref := &bilatv1.EntityRef{Name: c.name}
		g.Ref(ref)
		if got, why := InferLevel(c.name, ref, g); got != c.want {
			t.Errorf("InferLevel(%q) = %v (%s), want %v", c.name, got, why, c.want)
		}
	}
}

func TestPublisherLevelKept(t *testing.T) {
	en := Enricher{Gazetteer: bookGazetteer(t), Home: "BY"}
	a := &bilatv1.Agreement{Title: "x", Parties: []*bilatv1.Party{
		{Entity: &bilatv1.EntityRef{Name: "Government of Georgia"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE},
		{Entity: &bilatv1.EntityRef{Name: "Ministry of Health of Georgia"}},
	}}
	en.Agreement(a)
	if p := a.Parties[0]; p.Level != bilatv1.PartyLevel_PARTY_LEVEL_STATE || p.LevelInferred {
		t.Errorf("given level changed: %v inferred=%v", p.Level, p.LevelInferred)
	}
	if p := a.Parties[1]; p.Level != bilatv1.PartyLevel_PARTY_LEVEL_MINISTRY || !p.LevelInferred {
		t.Errorf("missing level: %v inferred=%v", p.Level, p.LevelInferred)
	}
	again := proto.CloneOf(a)
	en.Agreement(again) // re-enriching an enriched record changes nothing
	if !proto.Equal(a.Parties[1], again.Parties[1]) {
		t.Errorf("re-enrichment changed a party: %v -> %v", a.Parties[1], again.Parties[1])
	}
}

func domainsOf(ls []*bilatv1.DomainLabel) string {
	var out []string
	for _, l := range ls {
		out = append(out, strings.ToLower(strings.TrimPrefix(l.Domain.String(), "DOMAIN_")))
	}
	return strings.Join(out, ",")
}

func TestClassify(t *testing.T) {
	for _, c := range []struct{ title, text, want string }{
		{"Agreement on trade and economic cooperation", "", "trade,economic"},
		{"Соглашение о торгово-экономическом сотрудничестве", "", "trade,economic"},
		{"Соглашение о научно-техническом сотрудничестве", "", "science_technology"},
		{"Programme of science and technology cooperation", "", "science_technology"},
		{"Scientific cooperation agreement", "", "science_technology"},
		{"Agreement on military-technical cooperation", "", "military_technical"},
		{"Соглашение о военно-техническом сотрудничестве", "", "military_technical"},
		{"Action Plan to Create a Common Information Space", "", "information"}, // "space" taken by the phrase
		{"Agreement on physical culture and sport", "", "sport"},
		{"Memorandum between the Chamber of Commerce and Industry of A and the Chamber of Commerce and Industry of B", "", "trade,economic"},
		{"Agreement between the Ministry of Sport and Tourism of Belarus and the Ministry of Sport of China on tourism", "", "tourism"},
		{"Agreement between the Ministry of Culture of Belarus and the Ministry of Culture of Armenia", "", "culture"}, // only the ministries speak
		{"Соглашение об избежании двойного налогообложения между Республикой Беларусь и Грузией", "", "finance_tax"},
		{"Memorandum of cooperation", "The parties will develop direct flights and tourism.", "transport,tourism"},
		{"Agreement on cooperation", "", ""},
		{"Joint Belarusian-Chinese S&T project competitions", "", "science_technology"},
	} {
		if got := domainsOf(Classify(c.title, c.text)); got != c.want {
			t.Errorf("Classify(%q, %q) = %q, want %q", c.title, c.text, got, c.want)
		}
	}
	ls := Classify("Соглашение о научно-техническом сотрудничестве", "")
	if len(ls) != 1 || !slices.Equal(ls[0].Terms, []string{"научно", "техническом"}) {
		t.Errorf("terms = %v, want the words that decided", ls)
	}
}

func TestLabelDomainsKeepsGiven(t *testing.T) {
	a := &bilatv1.Agreement{Title: "Agreement on trade and cultural cooperation", Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_SPORT}}
	LabelDomains(a)
	if !slices.Equal(a.Domains, []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_SPORT}) {
		t.Errorf("given domains changed: %v", a.Domains)
	}
	want := []struct {
		d     bilatv1.Domain
		given bool
		terms string
	}{
		{bilatv1.Domain_DOMAIN_TRADE, true, "trade"},
		{bilatv1.Domain_DOMAIN_SPORT, true, ""},
		{bilatv1.Domain_DOMAIN_CULTURE, false, "cultural"},
	}
	if len(a.DomainLabels) != len(want) {
		t.Fatalf("labels = %v", a.DomainLabels)
	}
	for i, w := range want {
		l := a.DomainLabels[i]
		if l.Domain != w.d || l.Given != w.given || strings.Join(l.Terms, " ") != w.terms {
			t.Errorf("label %d = %v, want %+v", i, l, w)
		}
	}
	b := &bilatv1.Agreement{Title: "Agreement on trade and cultural cooperation"}
	LabelDomains(b)
	if !slices.Equal(b.Domains, []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_CULTURE}) {
		t.Errorf("classified domains = %v", b.Domains)
	}
}

func testRates(t *testing.T) *Rates {
	t.Helper()
	rs, err := ParseRatesCSV(strings.NewReader(`currency,year,units_per_usd,source
RUB,2013,31.8480,CBR annual average
RUB,2018,62.6707,CBR annual average
BYR,2014,10224.08,NBRB annual average
BYN,2018,2.0378,NBRB annual average
CNY,2019,6.9081,PBoC
`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRates(rs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestToUSD(t *testing.T) {
	r := testRates(t)
	for _, c := range []struct {
		name        string
		m           *bilatv1.Money
		year, month int32
		units       int64
		nanos       int32
		gap         bool
		note        string
	}{
		// Stavropol: RUB 6.7 bn in 2013 at 31.8480 = USD 210 374 277.819… → .82
		{"stavropol 2013", &bilatv1.Money{Currency: "RUB", Units: 6_700_000_000}, 2013, 0, 210_374_277, 820_000_000, false, ""},
		{"sub-annual uses its year", &bilatv1.Money{Currency: "RUB", Units: 1_000_000}, 2018, 6, 15_956, 420_000_000, false, ""},
		{"nanos kept", &bilatv1.Money{Currency: "CNY", Units: 1, Nanos: 500_000_000}, 2019, 0, 0, 220_000_000, false, ""},
		{"usd identity", &bilatv1.Money{Currency: "USD", Units: 42, Nanos: 5_000_000}, 2018, 0, 42, 10_000_000, false, ""}, // 42.005 rounds up
		{"negative rounds away from zero", &bilatv1.Money{Currency: "USD", Units: -1, Nanos: -5_000_000}, 2018, 0, -1, -10_000_000, false, ""},
		{"byr", &bilatv1.Money{Currency: "BYR", Units: 102_240_800}, 2014, 0, 10_000, 0, false, ""},
		{"byn before 2016-07", &bilatv1.Money{Currency: "BYN", Units: 100}, 2014, 0, 0, 0, true, "BYN did not exist"},
		{"byn in 2016-03", &bilatv1.Money{Currency: "BYN", Units: 100}, 2016, 3, 0, 0, true, "BYN did not exist"},
		{"missing rate", &bilatv1.Money{Currency: "GEL", Units: 100}, 2018, 0, 0, 0, true, "no GEL rate for 2018"},
		{"no year", &bilatv1.Money{Currency: "RUB", Units: 100}, 0, 0, 0, 0, true, "no year"},
	} {
		got := r.ToUSD(c.m, c.year, c.month)
		if got.GetGap() != c.gap || !strings.Contains(got.GetNote(), c.note) {
			t.Errorf("%s: gap %v note %q, want gap %v note ~%q", c.name, got.GetGap(), got.GetNote(), c.gap, c.note)
			continue
		}
		if c.gap {
			if got.GetUsd() != nil {
				t.Errorf("%s: a gap carries an amount %v (never a silent zero)", c.name, got.GetUsd())
			}
			continue
		}
		if u := got.GetUsd(); u.GetCurrency() != "USD" || u.GetUnits() != c.units || u.GetNanos() != c.nanos {
			t.Errorf("%s: %v, want USD %d.%09d", c.name, u, c.units, c.nanos)
		}
	}
	if r.ToUSD(nil, 2018, 0) != nil {
		t.Error("no value must give no conversion")
	}
	if _, err := ParseRatesCSV(strings.NewReader("currency,year\nRUB,2013\n")); err == nil {
		t.Error("a file without units_per_usd was accepted")
	}
	if _, err := ParseRatesCSV(strings.NewReader("currency,year,units_per_usd\nRUB,2013,-1\n")); err == nil {
		t.Error("a negative rate was accepted")
	}
	// Exactness: the rate is kept as a fraction, not a float.
	if r.m["RUB"][2013].PerUSD.Cmp(big.NewRat(318480, 10000)) != 0 {
		t.Error("rate not exact")
	}
}

func TestEnrichmentConvertsAndKeepsOriginal(t *testing.T) {
	en := Enricher{Gazetteer: bookGazetteer(t), Home: "BY", Rates: testRates(t)}
	a := &bilatv1.Agreement{Title: "Agreement on trade", Value: &bilatv1.Money{Currency: "RUB", Units: 6_700_000_000},
		SignedOn: &bilatv1.PartialDate{Year: 2013, Month: 3, Approximate: true},
		Parties:  []*bilatv1.Party{{Entity: &bilatv1.EntityRef{Name: "Stavropol Krai"}}}}
	en.Agreement(a)
	if a.Value.Units != 6_700_000_000 || a.Value.Currency != "RUB" {
		t.Errorf("original amount changed: %v", a.Value)
	}
	if a.ValueUsd.GetUsd().GetUnits() != 210_374_277 || a.ValueUsd.GetRateYear() != 2013 {
		t.Errorf("value_usd = %v", a.ValueUsd)
	}
	// The partial date keeps its precision and its hedge.
	if d := a.SignedOn; d.Year != 2013 || d.Month != 3 || d.Day != 0 || !d.Approximate {
		t.Errorf("signed_on = %v", d)
	}
	f := &bilatv1.TradeFigure{Reporter: &bilatv1.EntityRef{Name: "Belarus"}, Partner: &bilatv1.EntityRef{Name: "Georgia"},
		Period: &bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 6}, Value: &bilatv1.Money{Currency: "GEL", Units: 5}}
	en.TradeFigure(f)
	if !f.ValueUsd.GetGap() || f.ValueUsd.GetUsd() != nil || f.Value.Units != 5 {
		t.Errorf("missing GEL rate: %v (value %v)", f.ValueUsd, f.Value)
	}
	if p := f.Period; p.Year != 2018 || p.FirstMonth != 1 || p.LastMonth != 6 {
		t.Errorf("period changed: %v", p)
	}
}

func TestParsePartialDate(t *testing.T) {
	for _, c := range []struct {
		in             string
		y, m, d        int32
		approx, errors bool
	}{
		{"2002", 2002, 0, 0, false, false},
		{"April 2019", 2019, 4, 0, false, false},
		{"mid-March 2017", 2017, 3, 0, true, false},
		{"14 March 2017", 2017, 3, 14, false, false},
		{"March 14, 2017", 2017, 3, 14, false, false},
		{"2017-03", 2017, 3, 0, false, false},
		{"2017-03-14", 2017, 3, 14, false, false},
		{"14.03.2017", 2017, 3, 14, false, false},
		{"в апреле 2019 года", 2019, 4, 0, false, false},
		{"середина марта 2017", 2017, 3, 0, true, false},
		{"around 2002", 2002, 0, 0, true, false},
		{"early 2018", 2018, 0, 0, true, false},
		{"5 2019", 0, 0, 0, false, true}, // a day without a month
		{"Marchember 2017", 0, 0, 0, false, true},
		{"", 0, 0, 0, false, true},
		{"2017-13", 0, 0, 0, false, true},
	} {
		d, err := ParsePartialDate(c.in)
		if c.errors {
			if err == nil {
				t.Errorf("ParsePartialDate(%q) = %v, want an error", c.in, d)
			}
			continue
		}
		if err != nil || d.Year != c.y || d.Month != c.m || d.Day != c.d || d.Approximate != c.approx {
			t.Errorf("ParsePartialDate(%q) = %v, %v; want %d-%d-%d approx %v", c.in, d, err, c.y, c.m, c.d, c.approx)
		}
	}
}

// BenchmarkClassify labels the titles of the book's agreements in turn.
func BenchmarkClassify(b *testing.B) {
	f, err := os.ReadFile("../../../../data/agreements.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	var titles []string
	for _, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
		var rec struct {
			Agreement struct{ Title string } `json:"agreement"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			b.Fatal(err)
		}
		titles = append(titles, rec.Agreement.Title)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Classify(titles[i%len(titles)], "")
	}
}
