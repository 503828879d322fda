package format

import (
	"bytes"
	"strings"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

type pair struct{ k, v string }

var pairView = View[pair]{
	{Name: "KEY", Cell: func(p pair) string { return p.k }},
	{Name: "LONG VALUE", Cell: func(p pair) string { return Truncate(p.v, 5) }, Raw: func(p pair) string { return p.v }},
	{Name: "Last", Cell: func(p pair) string { return "" }, Key: "last_Col"},
}

func TestRender(t *testing.T) {
	items := []pair{{"a", "short"}, {"bbb", "much longer, with \"quotes\"\tand tab"}}
	tests := []struct {
		name  string
		out   Output
		items []pair
		want  string
	}{
		{"table", OutputTable, items, "KEY  LONG VALUE  Last\na    short\nbbb  much…\n"},
		{"csv uses raw cells and snake headers", OutputCSV, items,
			"key,long_value,last_Col\na,short,\nbbb,\"much longer, with \"\"quotes\"\"\tand tab\",\n"},
		{"empty csv keeps its header", OutputCSV, nil, "key,long_value,last_Col\n"},
		{"empty table is just the header", OutputTable, nil, "KEY  LONG VALUE  Last\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, tt.out, pairView, tt.items); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
}

func TestRowWriterPages(t *testing.T) {
	// The header is written once; widths set by the first page grow for
	// later ones.
	var b bytes.Buffer
	rw := NewRowWriter(&b, OutputTable, []string{"A", "B"})
	if err := rw.Write([][]string{{"x", "1"}}); err != nil {
		t.Fatal(err)
	}
	if err := rw.Write([][]string{{"yyyy", "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "A  B\nx  1\nyyyy  2\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	rw = NewRowWriter(&b, OutputCSV, []string{"a", "b"})
	_ = rw.Write([][]string{{"1", "2"}})
	_ = rw.Write([][]string{{"3", "4"}})
	_ = rw.Close()
	if want := "a,b\n1,2\n3,4\n"; b.String() != want {
		t.Errorf("csv pages: got %q, want %q", b.String(), want)
	}
}

func TestParseOutput(t *testing.T) {
	for in, want := range map[string]Output{"table": OutputTable, "JSON": OutputJSON, " csv ": OutputCSV} {
		if got, err := ParseOutput(in); err != nil || got != want {
			t.Errorf("ParseOutput(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseOutput("yaml"); err == nil || err.Error() != `unknown output format "yaml" (one of: table, json, csv)` {
		t.Errorf("ParseOutput(yaml) err = %v", err)
	}
}

func TestWriteFields(t *testing.T) {
	fields := []Field{{"ID", "x"}, {"Empty", ""}, {"In force", "2017, soon"}}
	var b bytes.Buffer
	if err := WriteFields(&b, OutputTable, fields); err != nil {
		t.Fatal(err)
	}
	if want := "ID:        x\nIn force:  2017, soon\n"; b.String() != want {
		t.Errorf("table: got %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := WriteFields(&b, OutputCSV, fields); err != nil {
		t.Fatal(err)
	}
	if want := "field,value\nid,x\nin_force,\"2017, soon\"\n"; b.String() != want {
		t.Errorf("csv: got %q, want %q", b.String(), want)
	}
}

func TestViewsOnFixtures(t *testing.T) {
	g, st := 29.0, 31.0
	tests := []struct {
		name string
		got  [][]string
		want string
	}{
		{"balance", BalanceView.Rows(OutputTable, []*bilatv1.TradePeriodStats{{Reporter: "BY", Period: &bilatv1.Period{Year: 2018},
			Values: []*bilatv1.TradeValue{{Flow: bilatv1.TradeFlow_TRADE_FLOW_EXPORTS, Usd: &bilatv1.Money{Currency: "USD", Units: 5}, Derived: true}}}}),
			"2018|BY||-|5 USD *|-|-|"},
		{"growth and cagr", GrowthView.Rows(OutputTable, GrowthRows(&bilatv1.GetTradeGrowthResponse{
			Points: []*bilatv1.GrowthPoint{{Reporter: "BY", Period: &bilatv1.Period{Year: 2018}, GrowthPct: &g, StatedGrowthPct: &st, Disagrees: true}},
			Cagr:   []*bilatv1.Cagr{{Reporter: "BY", FromYear: 2015, ToYear: 2018, CagrPct: -3.5}}})),
			"2018|BY|||-||-|+29.00%|+31.00%|!\n2015..2018|BY|||-|2015|-|-3.50% CAGR|-|"},
		{"rank without usd", RankView.Rows(OutputCSV, RankRows(&bilatv1.RankPartnersResponse{WithoutUsd: []string{"RU-STA"}})),
			"-|RU-STA||no USD value|-"},
		{"compare", CompareView([]string{"GE", "AF"}, nil).Rows(OutputTable, []*bilatv1.CompareYear{{Year: 2017,
			Cells: []*bilatv1.CompareCell{{Usd: &bilatv1.Money{Currency: "USD", Units: 1000}, SharePct: 100}}}}),
			"2017|1,000 USD (100.00%, -)|-"},
	}
	for _, tt := range tests {
		var lines []string
		for _, r := range tt.got {
			lines = append(lines, strings.Join(r, "|"))
		}
		if got := strings.Join(lines, "\n"); got != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
