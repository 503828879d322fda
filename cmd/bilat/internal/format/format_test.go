package format

import (
	"bytes"
	"math"
	"strings"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/proto"
)

func TestPartialDate(t *testing.T) {
	tests := []struct {
		in   *bilatv1.PartialDate
		want string
	}{
		{nil, ""},
		{&bilatv1.PartialDate{}, ""},
		{&bilatv1.PartialDate{Year: 2017}, "2017"},
		{&bilatv1.PartialDate{Year: 2017, Month: 3}, "2017-03"},
		{&bilatv1.PartialDate{Year: 2017, Month: 3, Day: 14}, "2017-03-14"},
		{&bilatv1.PartialDate{Year: 2002, Approximate: true}, "~2002"},
		{&bilatv1.PartialDate{Year: 2019, Month: 4, Approximate: true}, "~2019-04"},
		{&bilatv1.PartialDate{Year: 987}, "0987"},
		// A day without a month is invalid upstream; print what is known.
		{&bilatv1.PartialDate{Year: 2017, Day: 5}, "2017"},
	}
	for _, tt := range tests {
		if got := PartialDate(tt.in); got != tt.want {
			t.Errorf("PartialDate(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPeriod(t *testing.T) {
	tests := []struct {
		in   *bilatv1.Period
		want string
	}{
		{nil, ""},
		{&bilatv1.Period{Year: 2018}, "2018"},
		{&bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 7}, "2018-01..07"},
		{&bilatv1.Period{Year: 2018, FirstMonth: 3, LastMonth: 3}, "2018-03"},
		{&bilatv1.Period{Year: 2018, FirstMonth: 10, LastMonth: 12}, "2018-10..12"},
		{&bilatv1.Period{Year: 2018, LastMonth: 6}, "2018-01..06"},
	}
	for _, tt := range tests {
		if got := Period(tt.in); got != tt.want {
			t.Errorf("Period(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAmount(t *testing.T) {
	tests := []struct {
		units int64
		nanos int32
		want  string
	}{
		{0, 0, "0"},
		{7, 0, "7"},
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{164000000000, 0, "164,000,000,000"},
		{1234567, 890000000, "1,234,567.89"},
		{0, 500000000, "0.5"},
		{0, -250000000, "-0.25"},
		{-12000, -500000000, "-12,000.5"},
		{-999, 0, "-999"},
		{-1000, 0, "-1,000"},
		{1, 1, "1.000000001"},
		{math.MaxInt64, 0, "9,223,372,036,854,775,807"},
		{math.MinInt64, 0, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := Amount(tt.units, tt.nanos); got != tt.want {
			t.Errorf("Amount(%d, %d) = %q, want %q", tt.units, tt.nanos, got, tt.want)
		}
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		in     *bilatv1.Money
		approx bool
		want   string
	}{
		{nil, true, ""},
		{&bilatv1.Money{Currency: "USD", Units: 30000000}, true, "~30,000,000 USD"},
		{&bilatv1.Money{Currency: "RUB", Units: 1500000, Nanos: 250000000}, false, "1,500,000.25 RUB"},
		{&bilatv1.Money{Currency: "USD", Units: -4200000}, false, "-4,200,000 USD"},
		{&bilatv1.Money{Units: 12}, false, "12"},
	}
	for _, tt := range tests {
		if got := Money(tt.in, tt.approx); got != tt.want {
			t.Errorf("Money(%v, %v) = %q, want %q", tt.in, tt.approx, got, tt.want)
		}
	}
}

func TestGrowth(t *testing.T) {
	tests := []struct {
		f    *bilatv1.TradeFigure
		want string
	}{
		{&bilatv1.TradeFigure{}, ""},
		{&bilatv1.TradeFigure{StatedGrowthPct: proto.Float64(25), GrowthBase: &bilatv1.Period{Year: 2016}}, "+25% vs 2016"},
		{&bilatv1.TradeFigure{StatedGrowthPct: proto.Float64(-3.5)}, "-3.5%"},
		{&bilatv1.TradeFigure{StatedGrowthPct: proto.Float64(0)}, "+0%"},
		{&bilatv1.TradeFigure{StatedGrowthPct: proto.Float64(15), GrowthBase: &bilatv1.Period{Year: 2017, FirstMonth: 1, LastMonth: 7}}, "+15% vs 2017-01..07"},
	}
	for _, tt := range tests {
		if got := Growth(tt.f); got != tt.want {
			t.Errorf("Growth(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"Memorandum of understanding", 12, "Memorandum…"},
		{"Соглашение о сотрудничестве", 11, "Соглашение…"},
		{"abc", 1, "…"},
		{"abc", 0, "abc"},
	}
	for _, tt := range tests {
		if got := Truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestEnums(t *testing.T) {
	if got := EnumName(bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY); got != "science_technology" {
		t.Errorf("EnumName = %q", got)
	}
	if got := EnumName(bilatv1.Domain_DOMAIN_UNSPECIFIED); got != "" {
		t.Errorf("EnumName(unspecified) = %q, want empty", got)
	}
	if got := EnumName(bilatv1.Domain(999)); got != "999" {
		t.Errorf("EnumName(unknown) = %q, want 999", got)
	}
	for _, in := range []string{"science_technology", "science-technology", "Science_Technology", "DOMAIN_SCIENCE_TECHNOLOGY", " science_technology "} {
		d, err := parseDomain(in)
		if err != nil || d != bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY {
			t.Errorf("ParseDomain(%q) = %v, %v", in, d, err)
		}
	}
	for _, in := range []string{"", "unspecified", "DOMAIN_UNSPECIFIED", "scence", "flow_turnover"} {
		if d, err := parseDomain(in); err == nil {
			t.Errorf("ParseDomain(%q) = %v, want error", in, d)
		}
	}
	_, err := parseDomain("scence")
	if err == nil || !strings.Contains(err.Error(), "science_technology") {
		t.Errorf("error should list the accepted names: %v", err)
	}
	for in, want := range map[string]bilatv1.TradeFlow{
		"turnover": bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, "exports": bilatv1.TradeFlow_TRADE_FLOW_EXPORTS,
		"IMPORTS": bilatv1.TradeFlow_TRADE_FLOW_IMPORTS, "balance": bilatv1.TradeFlow_TRADE_FLOW_BALANCE,
	} {
		if got, err := ParseFlow(in); err != nil || got != want {
			t.Errorf("ParseFlow(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseFlow("export"); err == nil {
		t.Error("ParseFlow(export) should fail")
	}
	if got := Domains([]bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_UNSPECIFIED, bilatv1.Domain_DOMAIN_HEALTH}); got != "trade,health" {
		t.Errorf("Domains = %q", got)
	}
}

func TestEntityRef(t *testing.T) {
	tests := []struct {
		in   *bilatv1.EntityRef
		want string
	}{
		{nil, ""},
		{&bilatv1.EntityRef{Name: "Georgia", Code: "GE", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED}, "GE"},
		{&bilatv1.EntityRef{Name: "Atlantis", Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}, "Atlantis?"},
		{&bilatv1.EntityRef{Name: "Georgia", Resolution: bilatv1.Resolution_RESOLUTION_AMBIGUOUS}, "Georgia??"},
		{&bilatv1.EntityRef{Name: "Georgia"}, "Georgia"},
	}
	for _, tt := range tests {
		if got := EntityRef(tt.in); got != tt.want {
			t.Errorf("EntityRef(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func sampleAgreement() *bilatv1.Agreement {
	return &bilatv1.Agreement{
		Id:       "ge-2017-mou-science",
		Title:    "Memorandum of Understanding on cooperation in science and technology between the academies",
		Kind:     bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM,
		SignedOn: &bilatv1.PartialDate{Year: 2017, Month: 3, Approximate: true},
		Partner:  &bilatv1.EntityRef{Name: "Georgia", Code: "GE", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, CanonicalName: "Georgia", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY},
		Domains:  []bilatv1.Domain{bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY, bilatv1.Domain_DOMAIN_EDUCATION},
		Status:   bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
		Value:    &bilatv1.Money{Currency: "USD", Units: 2500000},
		Parties: []*bilatv1.Party{
			{Entity: &bilatv1.EntityRef{Name: "National Academy of Sciences of Belarus", Code: "org.by.nasb", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, CanonicalName: "NAS of Belarus", Kind: bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, Country: "BY"}, Level: bilatv1.PartyLevel_PARTY_LEVEL_ACADEMY, Country: "BY"},
			{Entity: &bilatv1.EntityRef{Name: "Tbilisi Science Park", Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}, Level: bilatv1.PartyLevel_PARTY_LEVEL_OTHER},
		},
		Sources:    []*bilatv1.Source{{Url: "http://example.org/a", Publisher: "BelTA", Published: &bilatv1.PartialDate{Year: 2017}, Quote: "signed a memorandum", Reference: "footnote 12"}},
		Attributes: map[string]string{"chapter": "Georgia", "book_footnote": "12"},
		Revision:   2,
		Note:       "date approximate",
	}
}

func TestAgreementRow(t *testing.T) {
	got := AgreementsView.Rows(OutputTable, []*bilatv1.Agreement{sampleAgreement()})[0]
	want := []string{"ge-2017-mou-science", "~2017-03", "GE", "memorandum", "science_technology,education",
		"Memorandum of Understanding on cooperation in science and t…"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("AgreementRow =\n%q\nwant\n%q", got, want)
	}
	empty := AgreementsView.Rows(OutputTable, []*bilatv1.Agreement{{Id: "x", Kind: bilatv1.AgreementKind_AGREEMENT_KIND_OTHER, Subkind: "strategy"}})[0]
	if strings.Join(empty, "|") != "x|-|-|other:strategy|-|" {
		t.Errorf("AgreementRow(sparse) = %q", empty)
	}
}

func TestAgreementDetail(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAgreement(&buf, OutputTable, sampleAgreement()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"ID:        ge-2017-mou-science",
		"Signed:    ~2017-03",
		"Partner:   GE Georgia (country)",
		"Domains:   science_technology, education",
		"Value:     2,500,000 USD",
		"Revision:  2",
		"  1. National Academy of Sciences of Belarus [academy, BY]\n     resolved: org.by.nasb NAS of Belarus (organisation, country BY)",
		"  2. Tbilisi Science Park [other]\n     unresolved",
		"  1. BelTA, 2017, footnote 12, http://example.org/a\n     \"signed a memorandum\"",
		"Attributes:\n  book_footnote: 12\n  chapter: Georgia\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("detail lacks %q; got:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := WriteAgreement(&buf, OutputTable, &bilatv1.Agreement{Id: "y"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Signed:  not stated") {
		t.Errorf("undated agreement should say so:\n%s", buf.String())
	}
}

func TestTradeRows(t *testing.T) {
	points := []*bilatv1.TradePoint{{
		Reporter: "BY",
		Period:   &bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 7},
		Flow:     bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
		Scope:    bilatv1.TradeScope_TRADE_SCOPE_GOODS,
		Figures: []*bilatv1.TradeFigure{
			{Reporter: &bilatv1.EntityRef{Code: "BY", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED},
				Value: &bilatv1.Money{Currency: "USD", Units: 29800000}, Approximate: true, StatedGrowthPct: proto.Float64(12.5),
				GrowthBase: &bilatv1.Period{Year: 2017, FirstMonth: 1, LastMonth: 7},
				Sources:    []*bilatv1.Source{{Publisher: "Belstat"}, {Publisher: "BelTA"}}},
			{Value: &bilatv1.Money{Currency: "USD", Units: 200000000}, IsTarget: true},
		},
	}}
	rows := TradeSeriesView.Rows(OutputTable, FigureRows(points))
	want := [][]string{
		{"2018-01..07", "BY", "turnover", "goods", "~29,800,000 USD", "+12.5% vs 2017-01..07", "Belstat +1"},
		{"2018-01..07", "BY", "turnover", "goods", "200,000,000 USD (target)", "-", "-"},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, []string{"A", "BB"}, [][]string{{"x\ty", "1"}, {"long value", "2\n3"}}); err != nil {
		t.Fatal(err)
	}
	want := "A           BB\nx y         1\nlong value  2 3\n"
	if buf.String() != want {
		t.Errorf("Table =\n%q\nwant\n%q", buf.String(), want)
	}
}

func parseDomain(s string) (bilatv1.Domain, error) {
	n, err := ParseEnum(bilatv1.Domain(0).Descriptor(), s)
	return bilatv1.Domain(n), err
}
