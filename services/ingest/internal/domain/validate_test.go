package domain

import (
	"math"
	"strings"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func validAgreement() *bilatv1.Agreement {
	return &bilatv1.Agreement{
		Id:    "ge-2017-trade",
		Title: "Agreement on trade and economic cooperation",
		Kind:  bilatv1.AgreementKind_AGREEMENT_KIND_AGREEMENT,
		Parties: []*bilatv1.Party{
			{Entity: &bilatv1.EntityRef{Name: "Government of the Republic of Belarus"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT, Country: "BY"},
			{Entity: &bilatv1.EntityRef{Name: "Government of Georgia"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT},
		},
		Partner:   &bilatv1.EntityRef{Name: "Georgia"},
		SignedOn:  &bilatv1.PartialDate{Year: 2016, Month: 2, Day: 29},
		InForceOn: &bilatv1.PartialDate{Year: 2017},
		Place:     "Tbilisi",
		Domains:   []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_ECONOMIC},
		Status:    bilatv1.AgreementStatus_AGREEMENT_STATUS_IN_FORCE,
		Value:     &bilatv1.Money{Currency: "USD", Units: 1000, Nanos: 500},
		Sources: []*bilatv1.Source{
			{Url: "https://mfa.gov.by/en/bilateral/georgia/", Publisher: "MFA", Published: &bilatv1.PartialDate{Year: 2018, Month: 3}, Quote: "line one\nline two"},
		},
		Note:       "Signed during the visit.",
		Attributes: map[string]string{"book_row": "17"},
	}
}

func validFigure() *bilatv1.TradeFigure {
	growth := 12.5
	return &bilatv1.TradeFigure{
		Id:              "af-2018-h1-turnover",
		Reporter:        &bilatv1.EntityRef{Name: "Belarus"},
		Partner:         &bilatv1.EntityRef{Name: "Afghanistan"},
		Period:          &bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 7},
		Flow:            bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
		Scope:           bilatv1.TradeScope_TRADE_SCOPE_GOODS,
		Value:           &bilatv1.Money{Currency: "USD", Units: 31_200_000},
		StatedGrowthPct: &growth,
		GrowthBase:      &bilatv1.Period{Year: 2017, FirstMonth: 1, LastMonth: 7},
		Sources:         []*bilatv1.Source{{Url: "http://example.org/a?b=c"}},
		Attributes:      map[string]string{"k": "v"},
	}
}

// want is one expected violation: exact field, description containing text.
type want struct{ field, text string }

func checkViolations(t *testing.T, got []Violation, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d violations %v, want %d %v", len(got), got, len(wants), wants)
	}
	for i, w := range wants {
		if got[i].Field != w.field || !strings.Contains(got[i].Description, w.text) {
			t.Errorf("violation %d = %q: %q, want field %q containing %q", i, got[i].Field, got[i].Description, w.field, w.text)
		}
	}
}

func TestValidateAgreement(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *bilatv1.Agreement)
		want   []want
	}{
		{"valid", func(*bilatv1.Agreement) {}, nil},
		{"minimal valid with partner only", func(a *bilatv1.Agreement) {
			*a = bilatv1.Agreement{Title: "t", Kind: bilatv1.AgreementKind_AGREEMENT_KIND_OTHER, Status: bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED, Partner: &bilatv1.EntityRef{Name: "China"}}
		}, nil},
		{"minimal valid with party only", func(a *bilatv1.Agreement) { a.Partner = nil }, nil},
		{"id empty allowed", func(a *bilatv1.Agreement) { a.Id = "" }, nil},
		{"id upper case", func(a *bilatv1.Agreement) { a.Id = "GE-1" }, []want{{"agreement.id", "must match"}}},
		{"id leading dash", func(a *bilatv1.Agreement) { a.Id = "-ge" }, []want{{"agreement.id", "must match"}}},
		{"id 128 chars ok", func(a *bilatv1.Agreement) { a.Id = strings.Repeat("a", 128) }, nil},
		{"id 129 chars", func(a *bilatv1.Agreement) { a.Id = strings.Repeat("a", 129) }, []want{{"agreement.id", "must match"}}},
		{"id with slash", func(a *bilatv1.Agreement) { a.Id = "a/b" }, []want{{"agreement.id", "must match"}}},
		{"title missing", func(a *bilatv1.Agreement) { a.Title = "" }, []want{{"agreement.title", "required"}}},
		{"title 500 runes ok", func(a *bilatv1.Agreement) { a.Title = strings.Repeat("ж", 500) }, nil},
		{"title 501 runes", func(a *bilatv1.Agreement) { a.Title = strings.Repeat("ж", 501) }, []want{{"agreement.title", "at most 500"}}},
		{"title control char", func(a *bilatv1.Agreement) { a.Title = "a\x00b" }, []want{{"agreement.title", "control"}}},
		{"title newline", func(a *bilatv1.Agreement) { a.Title = "a\nb" }, []want{{"agreement.title", "control"}}},
		{"title invalid utf8", func(a *bilatv1.Agreement) { a.Title = "a\xffb" }, []want{{"agreement.title", "UTF-8"}}},
		{"kind unspecified", func(a *bilatv1.Agreement) { a.Kind = 0 }, []want{{"agreement.kind", "required"}}},
		{"kind undefined", func(a *bilatv1.Agreement) { a.Kind = 99 }, []want{{"agreement.kind", "unknown value 99"}}},
		{"subkind 64 ok", func(a *bilatv1.Agreement) { a.Subkind = strings.Repeat("s", 64) }, nil},
		{"subkind 65", func(a *bilatv1.Agreement) { a.Subkind = strings.Repeat("s", 65) }, []want{{"agreement.subkind", "at most 64"}}},
		{"no party no partner", func(a *bilatv1.Agreement) { a.Parties = nil; a.Partner = nil }, []want{{"agreement.parties", "at least one party or a partner name"}}},
		{"no party, partner without name", func(a *bilatv1.Agreement) { a.Parties = nil; a.Partner = &bilatv1.EntityRef{} }, []want{
			{"agreement.parties", "at least one party"}, {"agreement.partner.name", "required"},
		}},
		{"party without entity", func(a *bilatv1.Agreement) { a.Parties[1].Entity = nil }, []want{{"agreement.parties[1].entity.name", "required"}}},
		{"party name empty", func(a *bilatv1.Agreement) { a.Parties[0].Entity.Name = "" }, []want{{"agreement.parties[0].entity.name", "required"}}},
		{"party name 301", func(a *bilatv1.Agreement) { a.Parties[0].Entity.Name = strings.Repeat("n", 301) }, []want{{"agreement.parties[0].entity.name", "at most 300"}}},
		{"party level unspecified ok", func(a *bilatv1.Agreement) { a.Parties[0].Level = 0 }, nil},
		{"party level undefined", func(a *bilatv1.Agreement) { a.Parties[0].Level = 77 }, []want{{"agreement.parties[0].level", "unknown value 77"}}},
		{"party country bad", func(a *bilatv1.Agreement) { a.Parties[0].Country = "BLR" }, []want{{"agreement.parties[0].country", "alpha-2"}}},
		{"party resolution set", func(a *bilatv1.Agreement) {
			a.Parties[0].Entity.Resolution = bilatv1.Resolution_RESOLUTION_RESOLVED
			a.Parties[0].Entity.Code = "BY"
		}, []want{
			{"agreement.parties[0].entity.resolution", "set by enrichment"},
			{"agreement.parties[0].entity.code", "set by enrichment"},
		}},
		{"partner enrichment fields", func(a *bilatv1.Agreement) {
			a.Partner = &bilatv1.EntityRef{Name: "Georgia", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, CanonicalName: "Georgia", Parent: "x", Country: "GE", MatchedAlias: "Georgia"}
		}, []want{
			{"agreement.partner.kind", "set by enrichment"},
			{"agreement.partner.canonical_name", "set by enrichment"},
			{"agreement.partner.parent", "set by enrichment"},
			{"agreement.partner.country", "set by enrichment"},
			{"agreement.partner.matched_alias", "set by enrichment"},
		}},
		{"party level inferred set", func(a *bilatv1.Agreement) { a.Parties[0].LevelInferred = true }, []want{{"agreement.parties[0].level_inferred", "set by enrichment"}}},
		{"party confidence and candidates set", func(a *bilatv1.Agreement) {
			a.Parties[1].Entity.Confidence = 0.9
			a.Parties[1].Entity.Candidates = []*bilatv1.Candidate{{Code: "GE"}}
		}, []want{
			{"agreement.parties[1].entity.confidence", "set by enrichment"},
			{"agreement.parties[1].entity.candidates", "set by enrichment"},
		}},
		{"partner confidence set", func(a *bilatv1.Agreement) { a.Partner = &bilatv1.EntityRef{Name: "Georgia", Confidence: 1} }, []want{{"agreement.partner.confidence", "set by enrichment"}}},
		{"value usd set", func(a *bilatv1.Agreement) {
			a.ValueUsd = &bilatv1.FxConversion{Usd: &bilatv1.Money{Currency: "USD", Units: 1}}
		}, []want{{"agreement.value_usd", "set by enrichment"}}},
		{"value usd gap set", func(a *bilatv1.Agreement) { a.ValueUsd = &bilatv1.FxConversion{Gap: true} }, []want{{"agreement.value_usd", "set by enrichment"}}},
		{"domain labels set", func(a *bilatv1.Agreement) {
			a.DomainLabels = []*bilatv1.DomainLabel{{Domain: bilatv1.Domain_DOMAIN_TRADE, Given: true}}
		}, []want{{"agreement.domain_labels", "set by enrichment"}}},
		{"signed year only", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 1900} }, nil},
		{"signed year 2100 month 12 day 31", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2100, Month: 12, Day: 31} }, nil},
		{"signed year zero", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{} }, []want{{"agreement.signed_on.year", "between 1900 and 2100"}}},
		{"signed year 1899", func(a *bilatv1.Agreement) { a.SignedOn.Year = 1899 }, []want{{"agreement.signed_on.year", "got 1899"}}},
		{"signed year 2101", func(a *bilatv1.Agreement) { a.SignedOn.Year = 2101 }, []want{{"agreement.signed_on.year", "got 2101"}}},
		{"signed month 13", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2000, Month: 13} }, []want{{"agreement.signed_on.month", "got 13"}}},
		{"signed month negative", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2000, Month: -1} }, []want{{"agreement.signed_on.month", "got -1"}}},
		{"signed day 32", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2000, Month: 1, Day: 32} }, []want{{"agreement.signed_on.day", "got 32"}}},
		{"signed day negative", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2000, Month: 1, Day: -3} }, []want{{"agreement.signed_on.day", "got -3"}}},
		{"signed day without month", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2000, Day: 5} }, []want{{"agreement.signed_on.day", "requires a month"}}},
		{"feb 29 non-leap", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2019, Month: 2, Day: 29} }, []want{{"agreement.signed_on.day", "not a day of 2019-02"}}},
		{"feb 29 1900 not leap", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 1900, Month: 2, Day: 29} }, []want{{"agreement.signed_on.day", "1900-02"}}},
		{"feb 29 2000 leap", func(a *bilatv1.Agreement) { a.SignedOn = &bilatv1.PartialDate{Year: 2000, Month: 2, Day: 29} }, nil},
		{"april 31", func(a *bilatv1.Agreement) { a.InForceOn = &bilatv1.PartialDate{Year: 2010, Month: 4, Day: 31} }, []want{{"agreement.in_force_on.day", "(30 days)"}}},
		{"in force bad year", func(a *bilatv1.Agreement) { a.InForceOn = &bilatv1.PartialDate{Year: 20} }, []want{{"agreement.in_force_on.year", "got 20"}}},
		{"place too long", func(a *bilatv1.Agreement) { a.Place = strings.Repeat("p", 301) }, []want{{"agreement.place", "at most 300"}}},
		{"no domains ok", func(a *bilatv1.Agreement) { a.Domains = nil }, nil},
		{"domain unspecified", func(a *bilatv1.Agreement) { a.Domains = []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, 0} }, []want{{"agreement.domains[1]", "required"}}},
		{"domain undefined", func(a *bilatv1.Agreement) { a.Domains = []bilatv1.Domain{27} }, []want{{"agreement.domains[0]", "unknown value 27"}}},
		{"domain duplicate", func(a *bilatv1.Agreement) {
			a.Domains = []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_CULTURE, bilatv1.Domain_DOMAIN_TRADE}
		}, []want{{"agreement.domains[2]", "duplicate of agreement.domains[0]"}}},
		{"all 26 domains ok", func(a *bilatv1.Agreement) {
			a.Domains = nil
			for d := 1; d <= 26; d++ {
				a.Domains = append(a.Domains, bilatv1.Domain(d))
			}
		}, nil},
		{"27 domains", func(a *bilatv1.Agreement) {
			a.Domains = nil
			for d := 1; d <= 26; d++ {
				a.Domains = append(a.Domains, bilatv1.Domain(d))
			}
			a.Domains = append(a.Domains, bilatv1.Domain_DOMAIN_SPORT)
		}, []want{{"agreement.domains", "at most 26"}, {"agreement.domains[26]", "duplicate"}}},
		{"status unspecified", func(a *bilatv1.Agreement) { a.Status = 0 }, []want{{"agreement.status", "required"}}},
		{"status undefined", func(a *bilatv1.Agreement) { a.Status = 8 }, []want{{"agreement.status", "unknown value 8"}}},
		{"status adopted ok", func(a *bilatv1.Agreement) { a.Status = bilatv1.AgreementStatus_AGREEMENT_STATUS_ADOPTED }, nil},
		{"value currency lower", func(a *bilatv1.Agreement) { a.Value.Currency = "usd" }, []want{{"agreement.value.currency", "ISO 4217"}}},
		{"value currency missing", func(a *bilatv1.Agreement) { a.Value.Currency = "" }, []want{{"agreement.value.currency", "required"}}},
		{"value currency 4 letters", func(a *bilatv1.Agreement) { a.Value.Currency = "USDT" }, []want{{"agreement.value.currency", "ISO 4217"}}},
		{"value nanos too big", func(a *bilatv1.Agreement) { a.Value.Nanos = 1_000_000_000 }, []want{{"agreement.value.nanos", "999999999"}}},
		{"value mixed sign", func(a *bilatv1.Agreement) { a.Value.Units = 5; a.Value.Nanos = -1 }, []want{
			{"agreement.value.nanos", "same sign"}, {"agreement.value", "must not be negative"},
		}},
		{"value negative", func(a *bilatv1.Agreement) { a.Value.Units = -5; a.Value.Nanos = 0 }, []want{{"agreement.value", "must not be negative"}}},
		{"value negative nanos only", func(a *bilatv1.Agreement) { a.Value.Units = 0; a.Value.Nanos = -5 }, []want{{"agreement.value", "must not be negative"}}},
		{"value zero ok", func(a *bilatv1.Agreement) { a.Value = &bilatv1.Money{Currency: "BYN"} }, nil},
		{"50 sources ok", func(a *bilatv1.Agreement) { a.Sources = make([]*bilatv1.Source, 50) }, nil},
		{"51 sources", func(a *bilatv1.Agreement) { a.Sources = make([]*bilatv1.Source, 51) }, []want{{"agreement.sources", "at most 50"}}},
		{"source url relative", func(a *bilatv1.Agreement) { a.Sources[0].Url = "/news/1" }, []want{{"agreement.sources[0].url", "absolute http or https"}}},
		{"source url ftp", func(a *bilatv1.Agreement) { a.Sources[0].Url = "ftp://example.org/x" }, []want{{"agreement.sources[0].url", "absolute http or https"}}},
		{"source url no host", func(a *bilatv1.Agreement) { a.Sources[0].Url = "http:///x" }, []want{{"agreement.sources[0].url", "absolute http or https"}}},
		{"source url unparsable", func(a *bilatv1.Agreement) { a.Sources[0].Url = "http://[::1" }, []want{{"agreement.sources[0].url", "not a URL"}}},
		{"source url too long", func(a *bilatv1.Agreement) { a.Sources[0].Url = "https://e.org/" + strings.Repeat("a", 2035) }, []want{{"agreement.sources[0].url", "at most 2048"}}},
		{"source url 2048 ok", func(a *bilatv1.Agreement) { a.Sources[0].Url = "https://e.org/" + strings.Repeat("a", 2034) }, nil},
		{"source published bad", func(a *bilatv1.Agreement) {
			a.Sources[0].Published = &bilatv1.PartialDate{Year: 2018, Month: 2, Day: 30}
		}, []want{{"agreement.sources[0].published.day", "not a day"}}},
		{"source quote too long", func(a *bilatv1.Agreement) { a.Sources[0].Quote = strings.Repeat("q", 4001) }, []want{{"agreement.sources[0].quote", "at most 4000"}}},
		{"attributes 64 ok", func(a *bilatv1.Agreement) { a.Attributes = manyAttrs(64) }, nil},
		{"attributes 65", func(a *bilatv1.Agreement) { a.Attributes = manyAttrs(65) }, []want{{"agreement.attributes", "at most 64"}}},
		{"attribute key too long", func(a *bilatv1.Agreement) { a.Attributes = map[string]string{strings.Repeat("k", 65): "v"} }, []want{{`agreement.attributes["` + strings.Repeat("k", 65) + `"]`, "key must be at most 64"}}},
		{"attribute key empty", func(a *bilatv1.Agreement) { a.Attributes = map[string]string{"": "v"} }, []want{{`agreement.attributes[""]`, "key must not be empty"}}},
		{"attribute value too long", func(a *bilatv1.Agreement) { a.Attributes = map[string]string{"k": strings.Repeat("v", 2001)} }, []want{{`agreement.attributes["k"]`, "at most 2000"}}},
		{"note 4000 ok", func(a *bilatv1.Agreement) { a.Note = strings.Repeat("n", 4000) }, nil},
		{"note 4001", func(a *bilatv1.Agreement) { a.Note = strings.Repeat("n", 4001) }, []want{{"agreement.note", "at most 4000"}}},
		{"note multiline ok", func(a *bilatv1.Agreement) { a.Note = "a\n\tb" }, nil},
		{"note escape char", func(a *bilatv1.Agreement) { a.Note = "a\x1bb" }, []want{{"agreement.note", "control"}}},
		{"revision set", func(a *bilatv1.Agreement) { a.Revision = 2 }, []want{{"agreement.revision", "set by the projections"}}},
		{"updated_at set", func(a *bilatv1.Agreement) { a.UpdatedAt = timestamppb.Now() }, []want{{"agreement.updated_at", "set by the projections"}}},
		{"unknown fields", func(a *bilatv1.Agreement) {
			a.Partner.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
		}, []want{{"agreement.partner", "unknown to this schema"}}},
		{"unknown fields in a list element", func(a *bilatv1.Agreement) {
			a.Sources[0].Published = &bilatv1.PartialDate{Year: 2018}
			a.Sources[0].Published.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
		}, []want{{"agreement.sources[0].published", "unknown to this schema"}}},
		{"many violations at once", func(a *bilatv1.Agreement) {
			a.Title = ""
			a.Kind = 0
			a.SignedOn = &bilatv1.PartialDate{Year: 1800, Month: 14, Day: 3}
			a.Status = 0
		}, []want{
			{"agreement.title", "required"},
			{"agreement.kind", "required"},
			{"agreement.signed_on.year", "1800"},
			{"agreement.signed_on.month", "14"},
			{"agreement.status", "required"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAgreement()
			tt.mutate(a)
			checkViolations(t, ValidateAgreement(a, "agreement"), tt.want)
		})
	}
}

func TestValidateAgreementNil(t *testing.T) {
	checkViolations(t, ValidateAgreement(nil, "agreement"), []want{{"agreement", "required"}})
}

func TestValidateAgreementRoot(t *testing.T) {
	a := validAgreement()
	a.Title = ""
	checkViolations(t, ValidateAgreement(a, ""), []want{{"title", "required"}})
}

func manyAttrs(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[strings.Repeat("k", 1+i%60)+string(rune('a'+i/60))] = "v"
	}
	return m
}

func TestValidateTradeFigure(t *testing.T) {
	f64 := func(v float64) *float64 { return &v }
	tests := []struct {
		name   string
		mutate func(f *bilatv1.TradeFigure)
		want   []want
	}{
		{"valid", func(*bilatv1.TradeFigure) {}, nil},
		{"whole year, no growth", func(f *bilatv1.TradeFigure) {
			f.Period = &bilatv1.Period{Year: 2019}
			f.StatedGrowthPct = nil
			f.GrowthBase = nil
			f.Id = ""
			f.Scope = bilatv1.TradeScope_TRADE_SCOPE_UNSPECIFIED
		}, nil},
		{"id bad", func(f *bilatv1.TradeFigure) { f.Id = "Bad Id" }, []want{{"figure.id", "must match"}}},
		{"reporter missing", func(f *bilatv1.TradeFigure) { f.Reporter = nil }, []want{{"figure.reporter.name", "required"}}},
		{"reporter name empty", func(f *bilatv1.TradeFigure) { f.Reporter.Name = "" }, []want{{"figure.reporter.name", "required"}}},
		{"partner missing", func(f *bilatv1.TradeFigure) { f.Partner = nil }, []want{{"figure.partner.name", "required"}}},
		{"partner code set", func(f *bilatv1.TradeFigure) { f.Partner.Code = "AF" }, []want{{"figure.partner.code", "set by enrichment"}}},
		{"reporter candidates set", func(f *bilatv1.TradeFigure) { f.Reporter.Candidates = []*bilatv1.Candidate{{Code: "BY"}} }, []want{{"figure.reporter.candidates", "set by enrichment"}}},
		{"value usd set", func(f *bilatv1.TradeFigure) {
			f.ValueUsd = &bilatv1.FxConversion{Usd: &bilatv1.Money{Currency: "USD", Units: 5}, Rate: 1, RateYear: 2018}
		}, []want{{"figure.value_usd", "set by enrichment"}}},
		{"period missing", func(f *bilatv1.TradeFigure) { f.Period = nil; f.GrowthBase = nil; f.StatedGrowthPct = nil }, []want{{"figure.period", "required"}}},
		{"period year bad", func(f *bilatv1.TradeFigure) { f.Period.Year = 1899 }, []want{{"figure.period.year", "1899"}}},
		{"period only first month", func(f *bilatv1.TradeFigure) { f.Period.LastMonth = 0 }, []want{{"figure.period", "both be 0"}}},
		{"period only last month", func(f *bilatv1.TradeFigure) { f.Period.FirstMonth = 0 }, []want{{"figure.period", "both be 0"}}},
		{"period first > last", func(f *bilatv1.TradeFigure) { f.Period.FirstMonth = 8; f.Period.LastMonth = 3 }, []want{{"figure.period.last_month", "must not be before"}}},
		{"period last 13", func(f *bilatv1.TradeFigure) { f.Period.LastMonth = 13 }, []want{{"figure.period.last_month", "between 1 and 12"}}},
		{"period first negative", func(f *bilatv1.TradeFigure) { f.Period.FirstMonth = -1 }, []want{{"figure.period.first_month", "between 1 and 12"}}},
		{"period single month ok", func(f *bilatv1.TradeFigure) { f.Period.FirstMonth = 12; f.Period.LastMonth = 12 }, nil},
		{"flow unspecified", func(f *bilatv1.TradeFigure) { f.Flow = 0 }, []want{{"figure.flow", "required"}}},
		{"flow undefined", func(f *bilatv1.TradeFigure) { f.Flow = 5 }, []want{{"figure.flow", "unknown value 5"}}},
		{"scope undefined", func(f *bilatv1.TradeFigure) { f.Scope = 9 }, []want{{"figure.scope", "unknown value 9"}}},
		{"value missing", func(f *bilatv1.TradeFigure) { f.Value = nil }, []want{{"figure.value", "required"}}},
		{"value currency bad", func(f *bilatv1.TradeFigure) { f.Value.Currency = "US$" }, []want{{"figure.value.currency", "ISO 4217"}}},
		{"value negative turnover", func(f *bilatv1.TradeFigure) { f.Value.Units = -1 }, []want{{"figure.value", "must not be negative"}}},
		{"value negative balance ok", func(f *bilatv1.TradeFigure) {
			f.Flow = bilatv1.TradeFlow_TRADE_FLOW_BALANCE
			f.Value = &bilatv1.Money{Currency: "USD", Units: -5, Nanos: -100}
		}, nil},
		{"balance mixed sign", func(f *bilatv1.TradeFigure) {
			f.Flow = bilatv1.TradeFlow_TRADE_FLOW_BALANCE
			f.Value = &bilatv1.Money{Currency: "USD", Units: -5, Nanos: 100}
		}, []want{{"figure.value.nanos", "same sign"}}},
		{"nanos too small", func(f *bilatv1.TradeFigure) {
			f.Flow = bilatv1.TradeFlow_TRADE_FLOW_BALANCE
			f.Value = &bilatv1.Money{Currency: "USD", Units: -5, Nanos: -1_000_000_000}
		}, []want{{"figure.value.nanos", "999999999"}}},
		{"growth NaN", func(f *bilatv1.TradeFigure) { f.StatedGrowthPct = f64(math.NaN()) }, []want{{"figure.stated_growth_pct", "finite"}}},
		{"growth +Inf", func(f *bilatv1.TradeFigure) { f.StatedGrowthPct = f64(math.Inf(1)) }, []want{{"figure.stated_growth_pct", "finite"}}},
		{"growth -100", func(f *bilatv1.TradeFigure) { f.StatedGrowthPct = f64(-100) }, []want{{"figure.stated_growth_pct", "greater than -100"}}},
		{"growth -99.9 ok", func(f *bilatv1.TradeFigure) { f.StatedGrowthPct = f64(-99.9) }, nil},
		{"growth zero ok", func(f *bilatv1.TradeFigure) { f.StatedGrowthPct = f64(0) }, nil},
		{"growth without base ok", func(f *bilatv1.TradeFigure) { f.GrowthBase = nil }, nil},
		{"base without growth", func(f *bilatv1.TradeFigure) { f.StatedGrowthPct = nil }, []want{{"figure.growth_base", "without stated_growth_pct"}}},
		{"base same period", func(f *bilatv1.TradeFigure) { f.GrowthBase = &bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 7} }, []want{{"figure.growth_base", "must end before period"}}},
		{"base overlaps", func(f *bilatv1.TradeFigure) {
			f.GrowthBase = &bilatv1.Period{Year: 2017}
			f.Period = &bilatv1.Period{Year: 2017, FirstMonth: 12, LastMonth: 12}
		}, []want{{"figure.growth_base", "must end before period"}}},
		{"base later", func(f *bilatv1.TradeFigure) { f.GrowthBase = &bilatv1.Period{Year: 2019} }, []want{{"figure.growth_base", "must end before period"}}},
		{"base previous month ok", func(f *bilatv1.TradeFigure) {
			f.Period = &bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 1}
			f.GrowthBase = &bilatv1.Period{Year: 2017, FirstMonth: 12, LastMonth: 12}
		}, nil},
		{"base invalid", func(f *bilatv1.TradeFigure) { f.GrowthBase = &bilatv1.Period{Year: 2017, FirstMonth: 3} }, []want{{"figure.growth_base", "both be 0"}}},
		{"approximation too long", func(f *bilatv1.TradeFigure) { f.Approximation = strings.Repeat("a", 65) }, []want{{"figure.approximation", "at most 64"}}},
		{"source bad url", func(f *bilatv1.TradeFigure) { f.Sources[0].Url = "example.org" }, []want{{"figure.sources[0].url", "absolute"}}},
		{"attributes too many", func(f *bilatv1.TradeFigure) { f.Attributes = manyAttrs(65) }, []want{{"figure.attributes", "at most 64"}}},
		{"note too long", func(f *bilatv1.TradeFigure) { f.Note = strings.Repeat("n", 4001) }, []want{{"figure.note", "at most 4000"}}},
		{"revision set", func(f *bilatv1.TradeFigure) { f.Revision = 1 }, []want{{"figure.revision", "set by the projections"}}},
		{"updated_at set", func(f *bilatv1.TradeFigure) { f.UpdatedAt = timestamppb.Now() }, []want{{"figure.updated_at", "set by the projections"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFigure()
			tt.mutate(f)
			checkViolations(t, ValidateTradeFigure(f, "figure"), tt.want)
		})
	}
}

func TestValidateTradeFigureNil(t *testing.T) {
	checkViolations(t, ValidateTradeFigure(nil, "trade_figure"), []want{{"trade_figure", "required"}})
}

func TestValidateIdempotencyKey(t *testing.T) {
	tests := []struct {
		key  string
		want []want
	}{
		{"", nil},
		{"order-17/ab", nil},
		{strings.Repeat("k", 512), nil},
		{strings.Repeat("k", 513), []want{{"idempotency_key", "at most 512"}}},
		{"a\xff", []want{{"idempotency_key", "UTF-8"}}},
		{"a\nb", []want{{"idempotency_key", "control"}}},
	}
	for _, tt := range tests {
		checkViolations(t, ValidateIdempotencyKey(tt.key, "idempotency_key"), tt.want)
	}
}

func TestFormatViolations(t *testing.T) {
	got := FormatViolations([]Violation{{"a.b", "required"}, {"c", "bad"}})
	if got != "a.b: required; c: bad" {
		t.Fatalf("got %q", got)
	}
}

// The fixtures above must stay valid after normalisation, or the table
// would test normalisation side effects instead of rules.
func TestFixturesAreNormalised(t *testing.T) {
	a := validAgreement()
	NormalizeAgreement(a)
	if !proto.Equal(a, validAgreement()) {
		t.Error("validAgreement changes under normalisation")
	}
	f := validFigure()
	NormalizeTradeFigure(f)
	if !proto.Equal(f, validFigure()) {
		t.Error("validFigure changes under normalisation")
	}
}
