package domain

import (
	"reflect"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func fields(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Field)
	}
	return out
}

func TestValidateList(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    ListQuery
		want []string
	}{
		{"empty", ListQuery{}, nil},
		{"everything", ListQuery{Partner: "GE-AJ.batumi", Domain: bilatv1.Domain_DOMAIN_POLITICAL, FromYear: 1900, ToYear: 2100, PageSize: 500}, nil},
		{"same year", ListQuery{FromYear: 2017, ToYear: 2017}, nil},
		{"bad partner", ListQuery{Partner: "G E"}, []string{"partner"}},
		{"hash tag partner", ListQuery{Partner: "{GE}"}, []string{"partner"}},
		{"undefined domain", ListQuery{Domain: 99}, []string{"domain"}},
		{"negative domain", ListQuery{Domain: -1}, []string{"domain"}},
		{"early year", ListQuery{FromYear: 1899}, []string{"from_year"}},
		{"late year", ListQuery{ToYear: 2101}, []string{"to_year"}},
		{"reversed", ListQuery{FromYear: 2020, ToYear: 2019}, []string{"from_year"}},
		{"negative page", ListQuery{PageSize: -1}, []string{"page_size"}},
		{"big page", ListQuery{PageSize: 501}, []string{"page_size"}},
		{"several", ListQuery{Domain: 77, ToYear: 5, PageSize: 1000}, []string{"domain", "to_year", "page_size"}},
	} {
		if got := fields(ValidateList(tc.q)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: fields %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidateGetAndTrade(t *testing.T) {
	if got := fields(ValidateGet("")); !reflect.DeepEqual(got, []string{"id"}) {
		t.Errorf("empty id: %v", got)
	}
	if got := ValidateGet("a1"); got != nil {
		t.Errorf("id a1: %v", got)
	}
	for _, tc := range []struct {
		q    TradeQuery
		want []string
	}{
		{TradeQuery{Partner: "AF"}, nil},
		{TradeQuery{Partner: "AF", Reporter: "BY-HM", Flow: bilatv1.TradeFlow_TRADE_FLOW_BALANCE, FromYear: 2000, ToYear: 2001}, nil},
		{TradeQuery{}, []string{"partner"}},
		{TradeQuery{Partner: "A|F", Reporter: "B Y"}, []string{"partner", "reporter"}},
		{TradeQuery{Partner: "AF", Flow: 9}, []string{"flow"}},
		{TradeQuery{Partner: "AF", FromYear: 2010, ToYear: 2000}, []string{"from_year"}},
	} {
		if got := fields(ValidateTrade(tc.q)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: fields %v, want %v", tc.q, got, tc.want)
		}
	}
}
