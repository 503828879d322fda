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
