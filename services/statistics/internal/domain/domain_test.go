package domain

import (
	"reflect"
	"testing"
)

func TestKindOf(t *testing.T) {
	for subject, want := range map[string]Kind{
		"bilat.enriched.agreement.GE":              KindAgreement,
		"bilat.enriched.agreement.bloc_cis":        KindAgreement,
		"bilat.enriched.trade_figure.unresolved":   KindTradeFigure,
		"bilat.enriched.agreement":                 KindUnknown,
		"bilat.enriched.agreement.":                KindUnknown,
		"bilat.enriched.agreement.GE.extra":        KindUnknown,
		"bilat.events.agreement.recorded":          KindUnknown,
		"bilat.enriched.treaty.GE":                 KindUnknown,
		"":                                         KindUnknown,
		"other.enriched.trade_figure.GE":           KindUnknown,
		"bilat.enriched.trade_figure.GE-AJ_batumi": KindTradeFigure,
		"bilat.enriched.agreement.RU-STA":          KindAgreement,
		"bilat.enriched.trade_figure.*":            KindTradeFigure,
		"bilat.enriched.agreement_trade_figure.XX": KindUnknown,
		"bilat.enriched.trade_figure.AF":           KindTradeFigure,
	} {
		if got := KindOf(subject); got != want {
			t.Errorf("KindOf(%q) = %v, want %v", subject, got, want)
		}
	}
}

func TestValidateCountsQuery(t *testing.T) {
	for _, tc := range []struct {
		partner  string
		from, to int32
		want     []string
	}{
		{"GE", 0, 0, nil},
		{"GE", 2017, 2017, nil},
		{"GE", 1900, 2100, nil},
		{"", 0, 0, []string{"partner"}},
		{"GE", 1899, 0, []string{"from_year"}},
		{"GE", 0, 2101, []string{"to_year"}},
		{"GE", 2020, 2010, []string{"from_year"}},
		{"", -1, 3000, []string{"partner", "from_year", "to_year"}},
	} {
		var got []string
		for _, v := range ValidateCountsQuery(tc.partner, tc.from, tc.to) {
			got = append(got, v.Field)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ValidateCountsQuery(%q, %d, %d) fields = %v, want %v", tc.partner, tc.from, tc.to, got, tc.want)
		}
	}
}
