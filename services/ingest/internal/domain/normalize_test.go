package domain

import (
	"strings"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/proto"
)

func TestCollapse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"  a  b ", "a b"},
		{"a\tb\nc\r\nd", "a b c d"},
		{"a\u00a0\u00a0b", "a b"},
		{"Ставропольский   край", "Ставропольский край"},
	}
	for _, tt := range tests {
		if got := collapse(tt.in); got != tt.want {
			t.Errorf("collapse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCollapseShortcut checks that the allocation-free answer for strings
// already collapsed is what the full rewrite gives, on every string of up
// to four runes from an alphabet of spaces, letters and invalid UTF-8.
func TestCollapseShortcut(t *testing.T) {
	alphabet := []string{" ", "\t", "\n", "\u00a0", "\u2003", "a", "ж", "\xff"}
	var walk func(s string, depth int)
	walk = func(s string, depth int) {
		if want := strings.Join(strings.Fields(s), " "); collapse(s) != want {
			t.Errorf("collapse(%q) = %q, want %q", s, collapse(s), want)
		}
		if depth == 4 {
			return
		}
		for _, r := range alphabet {
			walk(s+r, depth+1)
		}
	}
	walk("", 0)
}

func BenchmarkCollapse(b *testing.B) {
	for _, s := range []string{"Agreement on cooperation in the field of culture", "Соглашение  о сотрудничестве "} {
		b.Run(strings.Fields(s)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = collapse(s)
			}
		})
	}
}

func TestUpperASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"usd", "USD"},
		{"Byn", "BYN"},
		{"ß", "ß"},
		{"é1z", "é1Z"},
	}
	for _, tt := range tests {
		if got := upperASCII(tt.in); got != tt.want {
			t.Errorf("upperASCII(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeAgreement(t *testing.T) {
	in := &bilatv1.Agreement{
		Id:      "  ge-1 ",
		Title:   "  Agreement\n on   trade ",
		Subkind: " strategy  paper ",
		Parties: []*bilatv1.Party{
			{Entity: &bilatv1.EntityRef{Name: "  Government   of Georgia"}, Country: " ge "},
			nil,
			{},
		},
		Partner: &bilatv1.EntityRef{Name: "Georgia\t"},
		Place:   " Tbilisi ",
		Value:   &bilatv1.Money{Currency: " usd "},
		Sources: []*bilatv1.Source{{Url: " https://e.org/ ", Publisher: " BelTA  news ", Quote: "  line 1\n  line 2  ", Reference: " fn.  3 "}, nil},
		Note:    "\n note  kept \n",
		Attributes: map[string]string{
			" key ": "  value  ",
		},
	}
	want := &bilatv1.Agreement{
		Id:      "ge-1",
		Title:   "Agreement on trade",
		Subkind: "strategy paper",
		Parties: []*bilatv1.Party{
			{Entity: &bilatv1.EntityRef{Name: "Government of Georgia"}, Country: "GE"},
			nil,
			{},
		},
		Partner:    &bilatv1.EntityRef{Name: "Georgia"},
		Place:      "Tbilisi",
		Value:      &bilatv1.Money{Currency: "USD"},
		Sources:    []*bilatv1.Source{{Url: "https://e.org/", Publisher: "BelTA news", Quote: "line 1\n  line 2", Reference: "fn. 3"}, nil},
		Note:       "note  kept",
		Attributes: map[string]string{" key ": "value"},
	}
	NormalizeAgreement(in)
	if !proto.Equal(in, want) {
		t.Fatalf("got %v\nwant %v", in, want)
	}
	NormalizeAgreement(nil)
}

func TestNormalizeTradeFigure(t *testing.T) {
	in := &bilatv1.TradeFigure{
		Id:            " af-1 ",
		Reporter:      &bilatv1.EntityRef{Name: " Republic  of Belarus "},
		Partner:       &bilatv1.EntityRef{Name: "Afghanistan "},
		Value:         &bilatv1.Money{Currency: "cny", Units: 5},
		Approximation: " more  than ",
		Sources:       []*bilatv1.Source{{Url: "\thttp://e.org\t"}},
		Note:          " n ",
		Attributes:    map[string]string{"k": " v "},
	}
	want := &bilatv1.TradeFigure{
		Id:            "af-1",
		Reporter:      &bilatv1.EntityRef{Name: "Republic of Belarus"},
		Partner:       &bilatv1.EntityRef{Name: "Afghanistan"},
		Value:         &bilatv1.Money{Currency: "CNY", Units: 5},
		Approximation: "more than",
		Sources:       []*bilatv1.Source{{Url: "http://e.org"}},
		Note:          "n",
		Attributes:    map[string]string{"k": "v"},
	}
	NormalizeTradeFigure(in)
	if !proto.Equal(in, want) {
		t.Fatalf("got %v\nwant %v", in, want)
	}
	NormalizeTradeFigure(nil)
}

// Records that differ only in spacing and currency case normalise to the
// same content hash.
func TestNormalisedSpellingsShareHash(t *testing.T) {
	a := validAgreement()
	b := validAgreement()
	b.Title = "  Agreement on trade  and economic\ncooperation "
	b.Value.Currency = "usd"
	b.Parties[0].Country = "by"
	NormalizeAgreement(a)
	NormalizeAgreement(b)
	ha, err := ContentHash(a)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := ContentHash(b)
	if err != nil {
		t.Fatal(err)
	}
	if ha != hb {
		t.Fatalf("hashes differ: %s vs %s", ha, hb)
	}
}
