package cli

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestListFlagsRequest(t *testing.T) {
	tests := []struct {
		name    string
		f       listFlags
		want    *bilatv1.ListAgreementsRequest
		errPart string
	}{
		{name: "empty", f: listFlags{}, want: &bilatv1.ListAgreementsRequest{}},
		{name: "all fields",
			f:    listFlags{partner: " GE ", domain: "science_technology", from: 2017, to: 2019, limit: 20, pageToken: "tok"},
			want: &bilatv1.ListAgreementsRequest{Partner: "GE", Domain: bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY, FromYear: 2017, ToYear: 2019, PageSize: 20, PageToken: "tok"}},
		{name: "region code kept as written", f: listFlags{partner: "RU-STA", domain: "DOMAIN_TRADE"},
			want: &bilatv1.ListAgreementsRequest{Partner: "RU-STA", Domain: bilatv1.Domain_DOMAIN_TRADE}},
		{name: "open start", f: listFlags{to: 2005}, want: &bilatv1.ListAgreementsRequest{ToYear: 2005}},
		{name: "same year", f: listFlags{from: 2017, to: 2017}, want: &bilatv1.ListAgreementsRequest{FromYear: 2017, ToYear: 2017}},
		{name: "max page", f: listFlags{limit: 500}, want: &bilatv1.ListAgreementsRequest{PageSize: 500}},
		{name: "bad domain", f: listFlags{domain: "scitech"}, errPart: `--domain: unknown domain "scitech"`},
		{name: "from after to", f: listFlags{from: 2019, to: 2017}, errPart: "--from 2019 is after --to 2017"},
		{name: "bad year", f: listFlags{from: -5}, errPart: "--from must be a year"},
		{name: "limit too big", f: listFlags{limit: 501}, errPart: "--limit must be 1..500"},
		{name: "negative limit", f: listFlags{limit: -1}, errPart: "--limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.request()
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSeriesFlagsRequest(t *testing.T) {
	tests := []struct {
		name    string
		partner string
		f       seriesFlags
		want    *bilatv1.GetTradeSeriesRequest
		errPart string
	}{
		{name: "partner only", partner: "AF", want: &bilatv1.GetTradeSeriesRequest{Partner: "AF"}},
		{name: "all", partner: "GE", f: seriesFlags{reporter: "BY", flow: "exports", from: 2010, to: 2018},
			want: &bilatv1.GetTradeSeriesRequest{Partner: "GE", Reporter: "BY", Flow: bilatv1.TradeFlow_TRADE_FLOW_EXPORTS, FromYear: 2010, ToYear: 2018}},
		{name: "balance", partner: "CN", f: seriesFlags{flow: "balance"}, want: &bilatv1.GetTradeSeriesRequest{Partner: "CN", Flow: bilatv1.TradeFlow_TRADE_FLOW_BALANCE}},
		{name: "empty partner", partner: "  ", errPart: "PARTNER must not be empty"},
		{name: "bad flow", partner: "AF", f: seriesFlags{flow: "investment"}, errPart: `--flow: unknown trade_flow "investment"`},
		{name: "bad range", partner: "AF", f: seriesFlags{from: 2020, to: 2019}, errPart: "after --to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.request(tt.partner)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSelfName(t *testing.T) {
	for in, want := range map[string]string{"bin/bilat": "bin/bilat", "./bin/bilat": "bin/bilat", "bilat": "bilat", "/nonexistent/x/bilat": "bilat"} {
		if got := selfName(in); got != want {
			t.Errorf("selfName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aa bb cc dd", 5, "> ")
	if got != "aa bb\n> cc\n> dd" {
		t.Errorf("wrap = %q", got)
	}
}
